// Package testkit starts Sluice clusters inside a test process, for tests of cluster behaviour
// that need real brokers (real listeners, real Raft quorum, real Kafka protocol) but not real
// processes; tests/ has the multi-process counterpart (SIGKILL, SIGSTOP).
//
// A cluster is N broker.Start nodes with ids 1..N, by default each a quorum voter and a broker
// (Options.Voters and process.roles in NodeOverrides make dedicated controllers and brokers), on
// loopback ports, with data directories under t.TempDir(). Every node's log is kept in memory
// and its tail printed when the test fails. Nodes are closed when the test ends. Options.FS
// puts a node's partition logs on a chosen file system (a vfs.MemFS to simulate crashes).
//
// Views of the cluster come from the Kafka protocol (DescribeCluster v2 asked of each node
// alone), so a fixture wait checks what a client would see, not internal state.
//
// Example:
//
//	c := testkit.StartCluster(t, testkit.Options{Nodes: 3, Overrides: map[string]string{
//		"broker.session.timeout.ms": "3000"}})
//	cl := c.Client()                 // franz-go client bootstrapped from every node
//	ctrl := c.Controller()           // node id of the active controller
//	c.Stop(ctrl)                     // clean shutdown
//	c.WaitBrokers(2)                 // every running node lists 2 unfenced brokers
//	c.Restart(ctrl)
//	c.WaitBrokers(3)
package testkit
