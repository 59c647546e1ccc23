//go:build !cgo || !unix

package main

import "errors"

// floorAvailable says this build has the floor: it needs cgo (and
// clock_gettime).
const floorAvailable = false

// floorDB is never opened without cgo.
type floorDB struct{}

func openFloor(string, int) (*floorDB, error) {
	return nil, errors.New("the C floor needs cgo")
}

func (*floorDB) run(floorOp, []int64, *int, int) floorRound { return floorRound{} }
func (*floorDB) count() (int64, error)                      { return 0, errors.New("the C floor needs cgo") }
func (*floorDB) close() error                               { return nil }
