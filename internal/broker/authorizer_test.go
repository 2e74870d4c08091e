package broker

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/security/scram"
)

// TestAuthorizerFollowsACLs: with authorizer.class.name set and
// allow.everyone.if.no.acl.found, an anonymous client may manage ACLs until the first ACL on
// the cluster exists; once it does (for another principal) it is refused. The ACL and the
// refusal survive a restart, and the decisions are counted.
func TestAuthorizerFollowsACLs(t *testing.T) {
	cfg := Config{NodeID: 1, DataDir: t.TempDir(), KafkaAddr: "127.0.0.1:0", ControllerAddr: freeAddr(t),
		Overrides: map[string]string{"authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
			"allow.everyone.if.no.acl.found": "true", "super.users": "User:admin"}}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b, err := Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	adm := newAdmin(t, b)
	// One request: ALTER and DESCRIBE for User:ops, and CLUSTER_ACTION for User:ANONYMOUS, the
	// principal this node's own broker has on the PLAINTEXT controller listener (its
	// registration, heartbeats and markers need it once the cluster has ACLs, as in Kafka).
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.KafkaAddr()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	create := kmsg.NewPtrCreateACLsRequest()
	for _, c := range []struct {
		principal string
		op        kmsg.ACLOperation
	}{{"User:ops", kmsg.ACLOperationAlter}, {"User:ops", kmsg.ACLOperationDescribe}, {"User:ANONYMOUS", kmsg.ACLOperationClusterAction}} {
		create.Creations = append(create.Creations, kmsg.CreateACLsRequestCreation{ResourceType: kmsg.ACLResourceTypeCluster,
			ResourceName: "kafka-cluster", ResourcePatternType: kmsg.ACLResourcePatternTypeLiteral, Principal: c.principal,
			Host: "*", Operation: c.op, PermissionType: kmsg.ACLPermissionTypeAllow})
	}
	created, err := create.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range created.Results {
		if r.ErrorCode != 0 {
			t.Fatalf("create while no cluster ACL exists: %v", kerr.ErrorForCode(r.ErrorCode))
		}
	}
	// The cluster now has ACLs, none for User:ANONYMOUS: describing them is refused.
	waitRefused(ctx, t, adm)
	if n := decisions(t, b); n["denied"] == 0 || n["allowed"] == 0 {
		t.Errorf("decisions %v", n)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}

	b, err = Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if got := len(b.quorum.Image().ACLs()); got != 3 {
		t.Fatalf("%d ACLs after the restart, want 3", got)
	}
	waitRefused(ctx, t, newAdmin(t, b))
}

func TestStartRejectsUnknownAuthorizer(t *testing.T) {
	_, err := Start(context.Background(), Config{NodeID: 1, DataDir: t.TempDir(), KafkaAddr: "127.0.0.1:0",
		ControllerAddr: freeAddr(t), Overrides: map[string]string{"authorizer.class.name": "kafka.security.authorizer.AclAuthorizer"}})
	if err == nil || !strings.Contains(err.Error(), "authorizer.class.name") {
		t.Fatalf("Start with ZooKeeper's AclAuthorizer: %v", err)
	}
}

func newAdmin(t *testing.T, b *Broker) *kadm.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.KafkaAddr()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return kadm.NewClient(cl)
}

// waitRefused waits until DescribeAcls answers CLUSTER_AUTHORIZATION_FAILED (the authorizer
// follows the Image the response came from asynchronously).
func waitRefused(ctx context.Context, t *testing.T, adm *kadm.Client) {
	t.Helper()
	for {
		res, err := adm.DescribeACLs(ctx, kadm.NewACLs().AnyResource().ResourcePatternType(kadm.ACLPatternAny).
			Operations(kadm.OpAny).Allow().Deny().AllowHosts().DenyHosts())
		if err == nil && len(res) > 0 {
			err = res[0].Err
		}
		if errors.Is(err, kerr.ClusterAuthorizationFailed) {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("DescribeAcls never refused: last %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func decisions(t *testing.T, b *Broker) map[string]float64 {
	t.Helper()
	mfs, err := b.registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() == "sluice_authorizer_decisions_total" {
			for _, m := range mf.GetMetric() {
				out[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
			}
		}
	}
	return out
}

// TestAddScramBootstrap: --add-scram credentials are in the metadata of the cluster the node
// creates, derived from the password (the stored keys verify it); on a restart of the existing
// cluster new ones are ignored.
func TestAddScramBootstrap(t *testing.T) {
	cfg := Config{NodeID: 1, DataDir: t.TempDir(), KafkaAddr: "127.0.0.1:0", ControllerAddr: freeAddr(t),
		AddScram: []string{"SCRAM-SHA-256=[name=admin,password=admin-secret]", "SCRAM-SHA-512=[name=admin,iterations=8192,password=admin-secret]"}}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b, err := Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []int8{scram.SHA256, scram.SHA512} {
		c, ok := b.quorum.Image().ScramCredential("admin", m)
		if !ok {
			t.Fatalf("no %s credential for admin", scram.MechanismName(m))
		}
		salted, err := scram.SaltedPassword(m, "admin-secret", c.Salt, int(c.Iterations))
		if err != nil {
			t.Fatal(err)
		}
		stored, server, _ := scram.Keys(m, salted)
		if !bytes.Equal(stored, c.StoredKey) || !bytes.Equal(server, c.ServerKey) {
			t.Fatalf("%s: stored keys do not verify the password", scram.MechanismName(m))
		}
	}
	if c, _ := b.quorum.Image().ScramCredential("admin", scram.SHA512); c.Iterations != 8192 {
		t.Errorf("iterations %d, want 8192", c.Iterations)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	cfg.AddScram = []string{"SCRAM-SHA-256=[name=late,password=x]"}
	b, err = Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if users := b.quorum.Image().ScramUsers(); len(users) != 1 || users[0] != "admin" {
		t.Fatalf("users after a restart with another --add-scram: %v", users)
	}
	cfg.AddScram = []string{"SCRAM-SHA-1=[name=x,password=y]"}
	if _, err := Start(ctx, cfg); err == nil || !strings.Contains(err.Error(), "--add-scram") {
		t.Fatalf("bad --add-scram: %v", err)
	}
}
