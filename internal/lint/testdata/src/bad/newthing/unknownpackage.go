// Package newthing is in no row of the layer table.
package newthing // planted: UnknownPackage
