//go:build !cgo

package sqlite3safe

// Without cgo no connection ever opens (go-sqlite3's stub refuses): there
// is nothing to set aside.

type ownState struct{}

func (ownState) setAside() bool { return false }

func ownBegin(sqliteConn, bool, hide, int, int) ownState { return ownState{} }
func ownEnd(ownState)                                    {}
func isTooBig(error) bool                                { return false }
func isAuth(error) bool                                  { return false }
func ownConn(sqliteConn)                                 {}
