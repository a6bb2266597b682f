// Package driver is the only production code with goroutines, sockets and
// real time. It runs the same machines the simulator runs. Its leaf
// sub-packages (osfs, tcpnet) adapt the real world to env.
package driver
