package tests

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	kgosasl "github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// startACLBroker starts a broker process with the authorizer on, a PLAINTEXT listener whose
// User:ANONYMOUS is a super user (the administrators' and the node's own), and a
// SASL_PLAINTEXT listener for the users the tests create.
func startACLBroker(t *testing.T) (n *node, plainAddr, saslAddr string) {
	t.Helper()
	n, addrs := startWithProperties(t, `
listeners=PLAINTEXT://{ADDR1},SASL_PLAINTEXT://{ADDR2}
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:ANONYMOUS
`)
	return n, addrs[0], addrs[1]
}

// TestSaramaUsersAndACLs: sarama's ClusterAdmin creates a SCRAM user (salted by sarama) and
// ACLs; franz-go then logs in as that user over SASL_PLAINTEXT and may produce exactly where
// the ACLs allow it; after sarama deletes the ACL, and then the user, it may not.
func TestSaramaUsersAndACLs(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a broker process")
	}
	n, plainAddr, saslAddr := startACLBroker(t)
	n.createTopic("acl-allowed", 1, nil)
	n.createTopic("acl-other", 1, nil)

	cfg := sarama.NewConfig()
	cfg.Version = sarama.V3_0_0_0
	adm, err := sarama.NewClusterAdmin([]string{plainAddr}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer adm.Close()
	res, err := adm.UpsertUserScramCredentials([]sarama.AlterUserScramCredentialsUpsert{{Name: "dave",
		Mechanism: sarama.SCRAM_MECHANISM_SHA_512, Iterations: 8192, Salt: []byte("sarama-salt"), Password: []byte("dave-secret")}})
	if err != nil || len(res) != 1 || res[0].ErrorCode != 0 {
		t.Fatalf("upsert: %v %+v", err, res)
	}
	described, err := adm.DescribeUserScramCredentials([]string{"dave"})
	if err != nil || len(described) != 1 || described[0].ErrorCode != 0 || len(described[0].CredentialInfos) != 1 ||
		described[0].CredentialInfos[0].Iterations != 8192 || described[0].CredentialInfos[0].Mechanism != sarama.SCRAM_MECHANISM_SHA_512 {
		t.Fatalf("describe: %v %+v", err, described)
	}
	topic := sarama.Resource{ResourceType: sarama.AclResourceTopic, ResourceName: "acl-allowed", ResourcePatternType: sarama.AclPatternLiteral}
	if err := adm.CreateACL(topic, sarama.Acl{Principal: "User:dave", Host: "*", Operation: sarama.AclOperationWrite,
		PermissionType: sarama.AclPermissionAllow}); err != nil {
		t.Fatal(err)
	}
	name := "acl-allowed"
	listed, err := adm.ListAcls(sarama.AclFilter{ResourceType: sarama.AclResourceTopic, ResourceName: &name,
		ResourcePatternTypeFilter: sarama.AclPatternMatch, Operation: sarama.AclOperationAny, PermissionType: sarama.AclPermissionAny})
	if err != nil || len(listed) != 1 || len(listed[0].Acls) != 1 || listed[0].Acls[0].Principal != "User:dave" {
		t.Fatalf("list: %v %+v", err, listed)
	}

	login := scram.Auth{User: "dave", Pass: "dave-secret"}.AsSha512Mechanism()
	if err := produceAs(t, saslAddr, login, "acl-allowed"); err != nil {
		t.Fatalf("dave produces where an ACL allows it: %v", err)
	}
	if err := produceAs(t, saslAddr, login, "acl-other"); !errors.Is(err, kerr.TopicAuthorizationFailed) {
		t.Fatalf("dave produces to a topic without an ACL: %v, want TOPIC_AUTHORIZATION_FAILED", err)
	}
	wrong := scram.Auth{User: "dave", Pass: "wrong"}.AsSha512Mechanism()
	if err := produceAs(t, saslAddr, wrong, "acl-allowed"); !errors.Is(err, kerr.SaslAuthenticationFailed) {
		t.Fatalf("wrong password: %v, want SASL_AUTHENTICATION_FAILED", err)
	}

	deleted, err := adm.DeleteACL(sarama.AclFilter{ResourceType: sarama.AclResourceTopic, ResourceName: &name,
		ResourcePatternTypeFilter: sarama.AclPatternLiteral, Operation: sarama.AclOperationAny, PermissionType: sarama.AclPermissionAny}, false)
	if err != nil || len(deleted) != 1 {
		t.Fatalf("delete ACL: %v %+v", err, deleted)
	}
	if err := produceAs(t, saslAddr, login, "acl-allowed"); !errors.Is(err, kerr.TopicAuthorizationFailed) {
		t.Fatalf("dave produces after the ACL was deleted: %v, want TOPIC_AUTHORIZATION_FAILED", err)
	}
	if res, err := adm.DeleteUserScramCredentials([]sarama.AlterUserScramCredentialsDelete{{Name: "dave",
		Mechanism: sarama.SCRAM_MECHANISM_SHA_512}}); err != nil || len(res) != 1 || res[0].ErrorCode != 0 {
		t.Fatalf("delete user: %v %+v", err, res)
	}
	if err := produceAs(t, saslAddr, login, "acl-allowed"); !errors.Is(err, kerr.SaslAuthenticationFailed) {
		t.Fatalf("a deleted user logs in: %v, want SASL_AUTHENTICATION_FAILED", err)
	}
}

// produceAs produces one record to topic as the SASL login, with one attempt.
func produceAs(t *testing.T, addr string, mech kgosasl.Mechanism, topic string) error {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.SASL(mech), kgo.RequestRetries(0), kgo.ProducerLinger(0),
		kgo.RecordDeliveryTimeout(10*time.Second), kgo.RecordRetries(0), kgo.DisableIdempotentWrite())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	return cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte("v")}).FirstErr()
}

// TestKafkaPythonACLs: kafka-python's ACL admin (its own CreateAcls, DescribeAcls and
// DeleteAcls versions) creates literal and prefixed ACLs, lists them with ANY and MATCH
// filters and deletes by principal.
func TestKafkaPythonACLs(t *testing.T) {
	requirePython(t, "kafka")
	if testing.Short() {
		t.Skip("starts a broker process")
	}
	_, plainAddr, _ := startACLBroker(t)
	out := runClient(t, 90*time.Second, "", "/usr/bin/python3", "python/kafka_python_acls.py", plainAddr)
	var got struct {
		Created      int        `json:"created"`
		CreateFailed []string   `json:"create_failed"`
		Listed       [][]string `json:"listed"`
		Match        [][]string `json:"match"`
		Deleted      [][]string `json:"deleted"`
		After        [][]string `json:"after"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("bad output %q: %v", out, err)
	}
	bobDeny := []string{"TOPIC", "orders-", "PREFIXED", "User:bob", "10.0.0.9", "WRITE", "DENY"}
	aliceTopic := []string{"TOPIC", "orders", "LITERAL", "User:alice", "*", "READ", "ALLOW"}
	aliceGroup := []string{"GROUP", "billing", "LITERAL", "User:alice", "*", "READ", "ALLOW"}
	same := func(a, b [][]string) bool { return slices.EqualFunc(a, b, slices.Equal[[]string]) }
	switch {
	case got.Created != 3 || len(got.CreateFailed) != 0:
		t.Fatalf("created %d, failed %v", got.Created, got.CreateFailed)
	case !same(got.Listed, [][]string{aliceGroup, aliceTopic, bobDeny}):
		t.Fatalf("listed %v", got.Listed)
	case !same(got.Match, [][]string{bobDeny}):
		t.Fatalf("MATCH orders-eu: %v", got.Match)
	case !same(got.Deleted, [][]string{aliceGroup, aliceTopic}):
		t.Fatalf("deleted %v", got.Deleted)
	case !same(got.After, [][]string{bobDeny}):
		t.Fatalf("left %v", got.After)
	}
}

// TestAddScramLogin: the users of `sluice serve --add-scram` log in over SASL_PLAINTEXT with
// kcat (librdkafka) and franz-go, for the mechanism they were given, with the password given;
// a CLI-created user (`sluice user create`) too; a wrong password is refused.
func TestAddScramLogin(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a broker process")
	}
	requireKcat(t)
	n, addrs := startWithProperties(t, `
listeners=PLAINTEXT://{ADDR1},SASL_PLAINTEXT://{ADDR2}
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT
`, "--add-scram", "SCRAM-SHA-256=[name=admin,password=admin-secret]",
		"--add-scram", "SCRAM-SHA-512=[name=ops,iterations=8192,password=\"ops,secret\"]")
	saslAddr := addrs[1]
	n.createTopic("bootstrap-users", 1, nil)
	if res := runSluice(t, n, "erin-secret\n", "user", "create", "erin", "--mechanism", "SCRAM-SHA-512"); res.code != 0 {
		t.Fatalf("user create: %s", res.stderr)
	}
	for _, tc := range []struct{ mech, user, pass string }{
		{"SCRAM-SHA-256", "admin", "admin-secret"}, {"SCRAM-SHA-512", "ops", "ops,secret"}, {"SCRAM-SHA-512", "erin", "erin-secret"},
	} {
		args := []string{"-b", saslAddr, "-X", "security.protocol=SASL_PLAINTEXT", "-X", "sasl.mechanisms=" + tc.mech,
			"-X", "sasl.username=" + tc.user, "-X", "sasl.password=" + tc.pass}
		value := "kcat-" + tc.user
		runClient(t, 30*time.Second, value+"\n", "kcat", append(args, "-P", "-t", "bootstrap-users")...)
		if out := runClient(t, 30*time.Second, "", "kcat", append(args, "-C", "-t", "bootstrap-users", "-o", "-1", "-e", "-q")...); out != value+"\n" {
			t.Fatalf("%s as %s: consumed %q", tc.mech, tc.user, out)
		}
	}
	if err := produceAs(t, saslAddr, scram.Auth{User: "admin", Pass: "admin-secret"}.AsSha256Mechanism(), "bootstrap-users"); err != nil {
		t.Fatalf("franz-go as admin: %v", err)
	}
	if err := produceAs(t, saslAddr, scram.Auth{User: "admin", Pass: "admin-secret"}.AsSha512Mechanism(), "bootstrap-users"); !errors.Is(err, kerr.SaslAuthenticationFailed) {
		t.Fatalf("admin with a mechanism it has no credential for: %v, want SASL_AUTHENTICATION_FAILED", err)
	}
	if err := produceAs(t, saslAddr, scram.Auth{User: "ops", Pass: "ops-secret"}.AsSha512Mechanism(), "bootstrap-users"); !errors.Is(err, kerr.SaslAuthenticationFailed) {
		t.Fatalf("wrong password: %v, want SASL_AUTHENTICATION_FAILED", err)
	}
}
