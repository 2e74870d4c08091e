package acl_test

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/goleak"

	"github.com/sluicehq/sluice/internal/testkit"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestACLsAndUsersReplicate: on a three-node cluster, CreateAcls and AlterUserScramCredentials
// sent to a node that is not the controller are forwarded and committed; every node then
// answers DescribeAcls and DescribeUserScramCredentials with them. After the controller
// stops, a deletion made through the new one reaches the old one when it restarts.
func TestACLsAndUsersReplicate(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three brokers")
	}
	c := testkit.StartCluster(t, testkit.Options{Nodes: 3, Overrides: map[string]string{
		"authorizer.class.name": "sluice", "super.users": "User:ANONYMOUS"}})
	cl := c.Client()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ctrl := c.Controller()
	other := c.IDs()[0]
	if other == ctrl {
		other = c.IDs()[1]
	}

	create := kmsg.NewPtrCreateACLsRequest()
	for _, topic := range []string{"orders", "payments"} {
		cr := kmsg.NewCreateACLsRequestCreation()
		cr.ResourceType, cr.ResourceName, cr.ResourcePatternType = kmsg.ACLResourceTypeTopic, topic, kmsg.ACLResourcePatternTypeLiteral
		cr.Principal, cr.Host, cr.Operation, cr.PermissionType = "User:alice", "*", kmsg.ACLOperationRead, kmsg.ACLPermissionTypeAllow
		create.Creations = append(create.Creations, cr)
	}
	resp, err := cl.Broker(int(other)).Request(ctx, create)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range resp.(*kmsg.CreateACLsResponse).Results {
		if r.ErrorCode != 0 {
			t.Fatalf("create through node %d (controller %d): error %d", other, ctrl, r.ErrorCode)
		}
	}
	alter := kmsg.NewPtrAlterUserSCRAMCredentialsRequest()
	up := kmsg.NewAlterUserSCRAMCredentialsRequestUpsertion()
	up.Name, up.Mechanism, up.Iterations, up.Salt, up.SaltedPassword = "alice", 1, 4096, []byte("salt"), []byte("salted-password")
	alter.Upsertions = append(alter.Upsertions, up)
	aresp, err := cl.Broker(int(other)).Request(ctx, alter)
	if err != nil {
		t.Fatal(err)
	}
	if r := aresp.(*kmsg.AlterUserSCRAMCredentialsResponse).Results; len(r) != 1 || r[0].ErrorCode != 0 {
		t.Fatalf("alter through node %d: %+v", other, r)
	}
	for _, id := range c.IDs() {
		waitACLs(ctx, t, cl, id, 2)
		waitUser(ctx, t, cl, id, "alice")
	}

	c.Stop(ctrl)
	del := kmsg.NewPtrDeleteACLsRequest()
	f := kmsg.NewDeleteACLsRequestFilter()
	f.ResourceType, f.ResourceName, f.ResourcePatternType = kmsg.ACLResourceTypeTopic, kmsg.StringPtr("orders"), kmsg.ACLResourcePatternTypeLiteral
	f.Operation, f.PermissionType = kmsg.ACLOperationAny, kmsg.ACLPermissionTypeAny
	del.Filters = append(del.Filters, f)
	for {
		dresp, err := cl.Broker(int(other)).Request(ctx, del)
		if err == nil {
			r := dresp.(*kmsg.DeleteACLsResponse).Results[0]
			if r.ErrorCode == 0 && len(r.MatchingACLs) == 1 {
				break
			}
			err = kerr.ErrorForCode(r.ErrorCode)
		}
		if ctx.Err() != nil {
			t.Fatalf("delete after the controller stopped: %v", err)
		}
		time.Sleep(50 * time.Millisecond) // a new controller is being elected
	}
	c.Restart(ctrl)
	waitACLs(ctx, t, cl, ctrl, 1)
	waitUser(ctx, t, cl, ctrl, "alice")
}

// waitACLs waits until node id answers DescribeAcls (every ACL) with n ACLs.
func waitACLs(ctx context.Context, t *testing.T, cl *kgo.Client, id int32, n int) {
	t.Helper()
	req := kmsg.NewPtrDescribeACLsRequest()
	req.ResourceType, req.ResourcePatternType = kmsg.ACLResourceTypeAny, kmsg.ACLResourcePatternTypeAny
	req.Operation, req.PermissionType = kmsg.ACLOperationAny, kmsg.ACLPermissionTypeAny
	var got int
	for {
		resp, err := cl.Broker(int(id)).Request(ctx, req)
		if err == nil && resp.(*kmsg.DescribeACLsResponse).ErrorCode == 0 {
			got = 0
			for _, r := range resp.(*kmsg.DescribeACLsResponse).Resources {
				got += len(r.ACLs)
			}
			if got == n {
				return
			}
		}
		if ctx.Err() != nil {
			t.Fatalf("node %d lists %d ACLs, want %d (last error %v)", id, got, n, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitUser waits until node id describes user's SCRAM credential.
func waitUser(ctx context.Context, t *testing.T, cl *kgo.Client, id int32, user string) {
	t.Helper()
	req := kmsg.NewPtrDescribeUserSCRAMCredentialsRequest()
	u := kmsg.NewDescribeUserSCRAMCredentialsRequestUser()
	u.Name = user
	req.Users = append(req.Users, u)
	for {
		resp, err := cl.Broker(int(id)).Request(ctx, req)
		if err == nil {
			if r := resp.(*kmsg.DescribeUserSCRAMCredentialsResponse).Results; len(r) == 1 && r[0].ErrorCode == 0 &&
				len(r[0].CredentialInfos) == 1 && r[0].CredentialInfos[0].Iterations == 4096 {
				return
			}
		}
		if ctx.Err() != nil {
			t.Fatalf("node %d does not describe user %s (last error %v)", id, user, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
