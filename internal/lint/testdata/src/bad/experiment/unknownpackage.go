// Package experiment is in no row of the layer table either.
//
//lint:ignore UnknownPackage fixture: proves the escape hatch suppresses
package experiment
