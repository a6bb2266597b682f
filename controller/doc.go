// Package controller holds the metadata state machine over the metadata log
// (KRaft's role). It arrives with issue 3.
package controller
