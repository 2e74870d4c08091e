package connect

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/internal/connect/converter"
)

// ConfigInfos is the answer of PUT /connector-plugins/{class}/config/validate.
type ConfigInfos struct {
	Name       string       `json:"name"`
	ErrorCount int          `json:"error_count"`
	Groups     []string     `json:"groups"`
	Configs    []ConfigInfo `json:"configs"`
}

// ConfigInfo is one property's definition and checked value.
type ConfigInfo struct {
	Definition struct {
		Name          string   `json:"name"`
		Type          string   `json:"type"`
		Required      bool     `json:"required"`
		DefaultValue  *string  `json:"default_value"`
		Importance    string   `json:"importance"`
		Documentation string   `json:"documentation"`
		Group         string   `json:"group"`
		Width         string   `json:"width"`
		DisplayName   string   `json:"display_name"`
		Dependents    []string `json:"dependents"`
		Order         int      `json:"order"`
	} `json:"definition"`
	Value struct {
		Name              string   `json:"name"`
		Value             *string  `json:"value"`
		RecommendedValues []string `json:"recommended_values"`
		Errors            []string `json:"errors"`
		Visible           bool     `json:"visible"`
	} `json:"value"`
}

// commonConfig is what every connector accepts (Kafka Connect's ConnectorConfig and
// SinkConnectorConfig).
func commonConfig(kind Kind) []ConfigKey {
	keys := []ConfigKey{
		{Name: "name", Type: "STRING", Importance: "HIGH", Group: "Common", Required: true,
			Documentation: "Globally unique name to use for this connector."},
		{Name: "connector.class", Type: "STRING", Importance: "HIGH", Group: "Common", Required: true,
			Documentation: "Name or alias of the class for this connector."},
		{Name: "tasks.max", Type: "INT", Default: Str("1"), Importance: "HIGH", Group: "Common",
			Documentation: "Maximum number of tasks to use for this connector.", Validate: atLeast(1)},
		{Name: "key.converter", Type: "CLASS", Importance: "LOW", Group: "Common",
			Documentation: "Converter class for keys (the worker's when not set).", Validate: converterClass},
		{Name: "value.converter", Type: "CLASS", Importance: "LOW", Group: "Common",
			Documentation: "Converter class for values (the worker's when not set).", Validate: converterClass},
	}
	keys = append(keys,
		ConfigKey{Name: "errors.tolerance", Type: "STRING", Default: Str("none"), Importance: "MEDIUM", Group: "Error Handling",
			Documentation: "none: a record failing in a converter or transform fails the task; all: it is skipped.",
			Validate: func(v string) error {
				if !strings.EqualFold(v, "none") && !strings.EqualFold(v, "all") {
					return fmt.Errorf("Invalid value %s for configuration errors.tolerance: String must be one of: none, all", v)
				}
				return nil
			}},
		ConfigKey{Name: "errors.retry.timeout", Type: "LONG", Default: Str("0"), Importance: "MEDIUM", Group: "Error Handling",
			Documentation: "How long, in milliseconds, a record failing in a converter or transform with a retriable error is retried (0: not retried; -1: without end).",
			Validate:      atLeast(-1)},
		ConfigKey{Name: "errors.retry.delay.max.ms", Type: "LONG", Default: Str("60000"), Importance: "MEDIUM", Group: "Error Handling",
			Documentation: "The longest wait between two retries (the waits double from 300 ms).",
			Validate:      atLeast(1)},
		ConfigKey{Name: "errors.log.enable", Type: "BOOLEAN", Default: Str("false"), Importance: "MEDIUM", Group: "Error Handling",
			Documentation: "Log each skipped record's error."},
		ConfigKey{Name: "errors.log.include.messages", Type: "BOOLEAN", Default: Str("false"), Importance: "MEDIUM", Group: "Error Handling",
			Documentation: "Include the record's key and value in that log."},
		ConfigKey{Name: "transforms", Type: "LIST", Default: Str(""), Importance: "LOW", Group: "Transforms",
			Documentation: "Aliases of the transformations to apply to records."},
		ConfigKey{Name: "predicates", Type: "LIST", Default: Str(""), Importance: "LOW", Group: "Predicates",
			Documentation: "Aliases of the predicates transformations use."},
	)
	if kind == Source {
		keys = append(keys,
			ConfigKey{Name: "exactly.once.support", Type: "STRING", Default: Str("requested"), Importance: "MEDIUM", Group: "Exactly Once Support",
				Documentation: "requested: run exactly-once when the worker has it; required: refuse the connector unless the worker has it and the connector declares support.",
				Validate:      oneOf("exactly.once.support", "requested", "required")},
			ConfigKey{Name: "transaction.boundary", Type: "STRING", Default: Str("poll"), Importance: "MEDIUM", Group: "Exactly Once Support",
				Documentation: "With exactly-once sources: poll commits a transaction per non-empty batch a task returns; interval every transaction.boundary.interval.ms; connector lets the connector decide.",
				Validate:      oneOf("transaction.boundary", "poll", "interval", "connector")},
			ConfigKey{Name: "transaction.boundary.interval.ms", Type: "LONG", Importance: "LOW", Group: "Exactly Once Support",
				Documentation: "With transaction.boundary=interval: how often to commit (default: the worker's offset.flush.interval.ms).",
				Validate:      atLeast(1)},
		)
	}
	if kind == Sink {
		keys = append(keys,
			ConfigKey{Name: "errors.deadletterqueue.topic.name", Type: "STRING", Default: Str(""), Importance: "MEDIUM", Group: "Error Handling",
				Documentation: "The topic skipped records are written to (errors.tolerance=all)."},
			ConfigKey{Name: "errors.deadletterqueue.context.headers.enable", Type: "BOOLEAN", Default: Str("false"), Importance: "MEDIUM", Group: "Error Handling",
				Documentation: "Add __connect.errors.* headers describing the error to dead-lettered records."},
			ConfigKey{Name: "topics", Type: "LIST", Default: Str(""), Importance: "HIGH", Group: "Common",
				Documentation: "List of topics to consume, separated by commas."},
			ConfigKey{Name: "topics.regex", Type: "STRING", Default: Str(""), Importance: "HIGH", Group: "Common",
				Documentation: "Regular expression giving topics to consume.", Validate: func(v string) error {
					_, err := regexp.Compile(v)
					return err
				}})
	}
	return keys
}

func atLeast(n int) func(string) error {
	return func(v string) error {
		i, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("Invalid value %s for configuration: Not a number of type INT", v)
		}
		if i < n {
			return fmt.Errorf("Invalid value %d for configuration: Value must be at least %d", i, n)
		}
		return nil
	}
}

func oneOf(name string, values ...string) func(string) error {
	return func(v string) error {
		for _, ok := range values {
			if strings.EqualFold(v, ok) {
				return nil
			}
		}
		return fmt.Errorf("Invalid value %s for configuration %s: String must be one of: %s", v, name, strings.Join(values, ", "))
	}
}

func converterClass(v string) error {
	for _, c := range converter.Classes() {
		if c == v {
			return nil
		}
	}
	return fmt.Errorf("Class %s could not be found.", v)
}

// Validate checks a connector configuration as PUT .../config/validate does.
func (w *Worker) Validate(config map[string]string) ConfigInfos {
	class := config["connector.class"]
	infos := ConfigInfos{Name: class, Groups: []string{"Common"}, Configs: []ConfigInfo{}}
	plugin, perr := LookupPlugin(class)
	kind := Source
	if perr == nil {
		kind = plugin.Kind
		infos.Name = plugin.Class
	}
	keys := commonConfig(kind)
	if perr == nil {
		keys = append(keys, plugin.New().Config()...)
	}
	var eosErrs map[string]string
	if perr == nil {
		eosErrs = w.exactlyOnceErrors(plugin, config)
	}
	seenGroup := map[string]bool{"Common": true}
	for i, k := range keys {
		var ci ConfigInfo
		d := &ci.Definition
		d.Name, d.Type, d.Required, d.DefaultValue, d.Importance, d.Documentation = k.Name, k.Type, k.Required, k.Default, k.Importance, k.Documentation
		d.Group, d.Width, d.DisplayName, d.Dependents, d.Order = k.Group, "NONE", k.Name, []string{}, i+1
		if d.Group == "" {
			d.Group = "Connector"
		}
		if !seenGroup[d.Group] {
			seenGroup[d.Group] = true
			infos.Groups = append(infos.Groups, d.Group)
		}
		v := &ci.Value
		v.Name, v.RecommendedValues, v.Errors, v.Visible = k.Name, []string{}, []string{}, true
		if val, ok := config[k.Name]; ok {
			v.Value = &val
			if k.Validate != nil {
				if err := k.Validate(val); err != nil {
					v.Errors = append(v.Errors, err.Error())
				}
			}
		} else if k.Default != nil {
			v.Value = k.Default
		} else if k.Required {
			v.Errors = append(v.Errors, fmt.Sprintf("Missing required configuration \"%s\" which has no default value.", k.Name))
		}
		if k.Name == "connector.class" && perr != nil && class != "" {
			v.Errors = append(v.Errors, perr.Error())
		}
		if msg, ok := eosErrs[k.Name]; ok && len(v.Errors) == 0 {
			v.Errors = append(v.Errors, msg)
		}
		infos.ErrorCount += len(v.Errors)
		infos.Configs = append(infos.Configs, ci)
	}
	if perr == nil && kind == Sink {
		topics, regex := strings.TrimSpace(config["topics"]), strings.TrimSpace(config["topics.regex"])
		if (topics == "") == (regex == "") {
			msg := "Must configure one of topics or topics.regex"
			if topics != "" {
				msg = "topics and topics.regex are mutually exclusive options, but both are set."
			}
			for i := range infos.Configs {
				if n := infos.Configs[i].Value.Name; n == "topics" || n == "topics.regex" {
					infos.Configs[i].Value.Errors = append(infos.Configs[i].Value.Errors, msg)
					infos.ErrorCount++
				}
			}
		}
	}
	return infos
}
