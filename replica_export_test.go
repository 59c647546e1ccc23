package sqlite3safe

// ReplicaCheckInterval is replicaCheckInterval, for the tests of package
// sqlite3safe_test.
const ReplicaCheckInterval = replicaCheckInterval
