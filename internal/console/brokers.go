package console

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
)

// Brokers: /brokers lists them with their state, partitions and log dir sizes; /brokers/{id}
// shows one's configs with their sources (DescribeConfigs) and its log dirs (DescribeLogDirs).

func (c *Console) brokerRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /brokers", c.brokers)
	mux.HandleFunc("GET /brokers/{id}", c.broker)
}

type brokersPage struct {
	Cluster *clusterView
	SizeErr string
	Error   string
}

func (c *Console) brokers(w http.ResponseWriter, r *http.Request) {
	s := sessionOf(r)
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	v, err := describeCluster(ctx, s)
	if err != nil {
		w.WriteHeader(http.StatusBadGateway)
		c.render(w, r, "brokers.html", "Brokers", brokersPage{Error: err.Error()})
		return
	}
	p := brokersPage{Cluster: v}
	dirs, err := s.Admin.DescribeAllLogDirs(ctx, nil)
	if err != nil {
		p.SizeErr = err.Error()
	} else {
		for i := range v.Brokers {
			if d, ok := dirs[v.Brokers[i].ID]; ok {
				v.Brokers[i].Size = d.Size()
			}
		}
	}
	c.render(w, r, "brokers.html", "Brokers", p)
}

// configRow is one config with where its value comes from.
type configRow struct {
	Name      string
	Value     string
	Null      bool
	Sensitive bool
	Source    string // short: dynamic, default, static, dynamic broker, dynamic default broker
	KafkaSrc  string // Kafka's name of the source, e.g. DYNAMIC_TOPIC_CONFIG
	Synonyms  []string
}

func configRows(cs []kadm.Config) []configRow {
	rows := make([]configRow, 0, len(cs))
	for _, cf := range cs {
		row := configRow{Name: cf.Key, Sensitive: cf.Sensitive, Source: sourceLabel(cf.Source.String()), KafkaSrc: cf.Source.String()}
		if cf.Value == nil {
			row.Null = true
		} else {
			row.Value = *cf.Value
		}
		for i, syn := range cf.Synonyms {
			if i == 0 && syn.Source == cf.Source {
				continue // the value itself, first of its synonyms
			}
			v := "null"
			if syn.Value != nil {
				v = *syn.Value
			}
			if cf.Sensitive {
				v = "(sensitive)"
			}
			row.Synonyms = append(row.Synonyms, sourceLabel(syn.Source.String())+" "+syn.Key+"="+v)
		}
		rows = append(rows, row)
	}
	slices.SortFunc(rows, func(a, b configRow) int { return strings.Compare(a.Name, b.Name) })
	return rows
}

// sourceLabel is a config source as the pages name it.
func sourceLabel(kafka string) string {
	switch kafka {
	case "DYNAMIC_TOPIC_CONFIG", "DYNAMIC_CLIENT_METRICS_CONFIG", "DYNAMIC_GROUP_CONFIG":
		return "dynamic"
	case "DYNAMIC_BROKER_CONFIG":
		return "dynamic broker"
	case "DYNAMIC_DEFAULT_BROKER_CONFIG":
		return "dynamic cluster default"
	case "DYNAMIC_BROKER_LOGGER_CONFIG":
		return "dynamic logger"
	case "STATIC_BROKER_CONFIG":
		return "static"
	case "DEFAULT_CONFIG":
		return "default"
	}
	return strings.ToLower(kafka)
}

type logDirRow struct {
	Dir    string
	Err    string
	Size   int64
	Topics []topicSize
}

type topicSize struct {
	Topic      string
	Partitions int
	Size       int64
}

type brokerPage struct {
	ID        int32
	Broker    *brokerRow
	Configs   []configRow
	ConfigErr string
	Dirs      []logDirRow
	DirsErr   string
	Error     string
}

func (c *Console) broker(w http.ResponseWriter, r *http.Request) {
	s := sessionOf(r)
	id64, err := strconv.ParseInt(r.PathValue("id"), 10, 32)
	if err != nil || id64 < 0 {
		c.fail(w, r, http.StatusNotFound, "no such broker: "+r.PathValue("id"))
		return
	}
	id := int32(id64)
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	p := brokerPage{ID: id}
	if v, err := describeCluster(ctx, s); err != nil {
		p.Error = err.Error()
	} else {
		for i := range v.Brokers {
			if v.Brokers[i].ID == id {
				p.Broker = &v.Brokers[i]
			}
		}
		if p.Broker == nil {
			c.fail(w, r, http.StatusNotFound, "the cluster has no broker "+r.PathValue("id"))
			return
		}
	}
	if rcs, err := s.Admin.DescribeBrokerConfigs(ctx, id); err != nil {
		p.ConfigErr = err.Error()
	} else if rc, err := rcs.On(strconv.Itoa(int(id)), nil); err != nil {
		p.ConfigErr = err.Error()
	} else if rc.Err != nil {
		p.ConfigErr = errText(rc.Err, rc.ErrMessage)
	} else {
		p.Configs = configRows(rc.Configs)
	}
	if dirs, err := s.Admin.DescribeBrokerLogDirs(ctx, id, nil); err != nil {
		p.DirsErr = err.Error()
	} else {
		dirs.Each(func(d kadm.DescribedLogDir) {
			row := logDirRow{Dir: d.Dir, Size: d.Size()}
			if d.Err != nil {
				row.Err = d.Err.Error()
			}
			for topic, parts := range d.Topics {
				ts := topicSize{Topic: topic, Partitions: len(parts)}
				for _, pt := range parts {
					ts.Size += pt.Size
				}
				row.Topics = append(row.Topics, ts)
			}
			slices.SortFunc(row.Topics, func(a, b topicSize) int {
				if a.Size != b.Size {
					if a.Size > b.Size {
						return -1
					}
					return 1
				}
				return strings.Compare(a.Topic, b.Topic)
			})
			p.Dirs = append(p.Dirs, row)
		})
		slices.SortFunc(p.Dirs, func(a, b logDirRow) int { return strings.Compare(a.Dir, b.Dir) })
	}
	c.render(w, r, "broker.html", "Broker "+strconv.Itoa(int(id)), p)
}

// errText is a Kafka error with the broker's message, if any.
func errText(err error, msg string) string {
	if msg != "" && !strings.Contains(err.Error(), msg) {
		return err.Error() + " (" + msg + ")"
	}
	return err.Error()
}
