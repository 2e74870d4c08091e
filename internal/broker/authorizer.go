package broker

import (
	"fmt"

	"github.com/sluicehq/sluice/internal/api"
	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/metadata"
	"github.com/sluicehq/sluice/internal/security/acl"
	"github.com/sluicehq/sluice/internal/security/scram"
)

// newAuthorizer builds the ACL authorizer when authorizer.class.name names it; an unknown
// class fails the start, so a broker configured for another authorizer never runs open.
func (b *Broker) newAuthorizer(brokerCfg *config.Resolved) error {
	on, err := acl.Enabled(brokerCfg.String(config.AuthorizerClassName))
	if err != nil {
		return fmt.Errorf("broker configs: %w", err)
	}
	if !on {
		return nil
	}
	a, err := acl.New(acl.Options{
		SuperUsers:                brokerCfg.String(config.SuperUsers),
		AllowEveryoneIfNoACLFound: brokerCfg.Bool(config.AllowEveryoneIfNoACLFound),
		Logger:                    b.logger.With("component", "authorizer"),
		Registerer:                b.registry,
		// The quorum opens after the authorizer; requests reach it only after that.
		Loaded: func() bool { return b.quorum != nil && b.quorum.CaughtUp() },
	})
	if err != nil {
		return fmt.Errorf("broker configs: %w", err)
	}
	b.authorizer = a
	return nil
}

// followACLs feeds the authorizer every Image the quorum applies, from the current one on.
func (b *Broker) followACLs() {
	if b.authorizer != nil {
		b.unfollowACLs = b.quorum.Subscribe(func(_, next *metadata.Image) { b.authorizer.Update(next) })
	}
}

// apiAuthorizer is the authorizer for api.Env: nil (allow everything) when none is configured.
func (b *Broker) apiAuthorizer() api.Authorizer {
	if b.authorizer == nil {
		return nil
	}
	return b.authorizer
}

// bootstrapScram turns --add-scram specifications into the credential records a new cluster
// starts with; the salts are drawn here, the passwords go no further.
func bootstrapScram(specs []string) ([]metadata.Record, error) {
	var recs []metadata.Record
	for _, text := range specs {
		spec, err := scram.ParseSpec(text)
		if err != nil {
			return nil, fmt.Errorf("--add-scram: %w", err)
		}
		cred, err := spec.Credential(nil)
		if err != nil {
			return nil, fmt.Errorf("--add-scram for %s: %w", spec.Name, err)
		}
		recs = append(recs, &metadata.UserScramCredentialRecord{Name: spec.Name, Mechanism: cred.Mechanism, Salt: cred.Salt,
			StoredKey: cred.StoredKey, ServerKey: cred.ServerKey, Iterations: cred.Iterations})
	}
	return recs, nil
}
