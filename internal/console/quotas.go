package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
)

// Quotas (/quotas): client quotas (DescribeClientQuotas) for users, client ids and their
// defaults, set and removed with AlterClientQuotas as the signed-in user.

func (c *Console) quotaRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /quotas", c.quotas)
	mux.HandleFunc("POST /quotas", c.alterQuota)
	mux.HandleFunc("POST /quotas/delete", c.deleteQuota)
}

// quotaKeys are the quotas the form offers.
var quotaKeys = []string{"producer_byte_rate", "consumer_byte_rate", "request_percentage", "controller_mutation_rate"}

type quotaEntity struct {
	Type    string // user or client-id
	Name    string
	Default bool
}

func (e quotaEntity) String() string {
	if e.Default {
		return e.Type + " (default)"
	}
	return e.Type + " " + e.Name
}

type quotaRow struct {
	Entity []quotaEntity
	Key    string
	Value  string
}

func (q quotaRow) EntityText() string {
	s := make([]string, len(q.Entity))
	for i, e := range q.Entity {
		s[i] = e.String()
	}
	return strings.Join(s, ", ")
}

type quotasPage struct {
	Quotas    []quotaRow
	Error     string
	Notice    string
	ActionErr string
	Keys      []string
}

func (c *Console) quotas(w http.ResponseWriter, r *http.Request) {
	c.renderQuotas(w, r, quotasPage{Notice: r.URL.Query().Get("done")}, http.StatusOK)
}

func (c *Console) renderQuotas(w http.ResponseWriter, r *http.Request, p quotasPage, status int) {
	s := sessionOf(r)
	p.Keys = quotaKeys
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	qs, err := s.Admin.DescribeClientQuotas(ctx, false, []kadm.DescribeClientQuotaComponent{})
	if err != nil {
		p.Error = err.Error()
	}
	for _, q := range qs {
		var ents []quotaEntity
		for _, e := range q.Entity {
			qe := quotaEntity{Type: e.Type, Default: e.Name == nil}
			if e.Name != nil {
				qe.Name = *e.Name
			}
			ents = append(ents, qe)
		}
		for _, v := range q.Values {
			p.Quotas = append(p.Quotas, quotaRow{Entity: ents, Key: v.Key, Value: strconv.FormatFloat(v.Value, 'f', -1, 64)})
		}
	}
	slices.SortFunc(p.Quotas, func(a, b quotaRow) int {
		return strings.Compare(a.EntityText()+"\x00"+a.Key, b.EntityText()+"\x00"+b.Key)
	})
	if status != http.StatusOK {
		w.WriteHeader(status)
	}
	c.render(w, r, "quotas.html", "Quotas", p)
}

// quotaEntityFromForm reads the entity: type user or client-id, a name or the default.
func quotaEntityFromForm(r *http.Request) (kadm.ClientQuotaEntity, quotaEntity, error) {
	e := quotaEntity{Type: r.PostFormValue("entity_type"), Name: strings.TrimSpace(r.PostFormValue("entity_name")),
		Default: r.PostFormValue("default") != ""}
	if e.Type != "user" && e.Type != "client-id" {
		return nil, e, fmt.Errorf("entity type %q: user or client-id", e.Type)
	}
	comp := kadm.ClientQuotaEntityComponent{Type: e.Type}
	if !e.Default {
		if e.Name == "" {
			return nil, e, errors.New("enter the user or client id, or choose the default")
		}
		comp.Name = &e.Name
	}
	return kadm.ClientQuotaEntity{comp}, e, nil
}

func quotaAltered(rs kadm.AlteredClientQuotas, err error) error {
	if err != nil {
		return err
	}
	for _, r := range rs {
		if r.Err != nil {
			return errors.New(errText(r.Err, r.ErrMessage))
		}
	}
	return nil
}

func (c *Console) quotaAction(w http.ResponseWriter, r *http.Request, err error, notice string) {
	if err != nil {
		c.renderQuotas(w, r, quotasPage{ActionErr: err.Error()}, http.StatusBadRequest)
		return
	}
	http.Redirect(w, r, "/quotas?done="+url.QueryEscape(notice), http.StatusSeeOther)
}

func (c *Console) alterQuota(w http.ResponseWriter, r *http.Request) {
	s := sessionOf(r)
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	ent, e, err := quotaEntityFromForm(r)
	key := r.PostFormValue("key")
	if err == nil && !slices.Contains(quotaKeys, key) {
		err = fmt.Errorf("quota %q: one of %s", key, strings.Join(quotaKeys, ", "))
	}
	var value float64
	if err == nil {
		value, err = strconv.ParseFloat(strings.TrimSpace(r.PostFormValue("value")), 64)
		if err != nil || value < 0 {
			err = errors.New("value: a number, 0 or more")
		}
	}
	if err != nil {
		c.quotaAction(w, r, err, "")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	err = quotaAltered(s.Admin.AlterClientQuotas(ctx, []kadm.AlterClientQuotaEntry{{Entity: ent, Ops: []kadm.AlterClientQuotaOp{{Key: key, Value: value}}}}))
	if err != nil {
		err = fmt.Errorf("Kafka refused: %w", err)
	}
	c.quotaAction(w, r, err, fmt.Sprintf("set %s = %s for %s", key, strconv.FormatFloat(value, 'f', -1, 64), e))
}

func (c *Console) deleteQuota(w http.ResponseWriter, r *http.Request) {
	s := sessionOf(r)
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	ent, e, err := quotaEntityFromForm(r)
	key := r.PostFormValue("key")
	if err == nil && key == "" {
		err = errors.New("no quota named")
	}
	if err != nil {
		c.quotaAction(w, r, err, "")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	err = quotaAltered(s.Admin.AlterClientQuotas(ctx, []kadm.AlterClientQuotaEntry{{Entity: ent, Ops: []kadm.AlterClientQuotaOp{{Key: key, Remove: true}}}}))
	if err != nil {
		err = fmt.Errorf("Kafka refused: %w", err)
	}
	c.quotaAction(w, r, err, fmt.Sprintf("removed %s for %s", key, e))
}
