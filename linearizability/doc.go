// Package linearizability records client histories and checks them with
// Porcupine and Jepsen-style checkers. It knows nothing of the broker.
// It arrives with issue 5.
package linearizability
