package integration

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/mattn/go-sqlite3"
	"github.com/sqlite3safe/sqlite3safe"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// GORM models: a user with has-one, has-many (with a nested has-many) and
// many-to-many associations, and a counter for read-modify-write.
type (
	User struct {
		ID        uint
		Name      string `gorm:"uniqueIndex;not null"`
		Email     string
		Profile   Profile    `gorm:"constraint:OnDelete:CASCADE"`
		Orders    []Order    `gorm:"constraint:OnDelete:CASCADE"`
		Languages []Language `gorm:"many2many:user_languages"`
		CreatedAt time.Time
		UpdatedAt time.Time
		DeletedAt gorm.DeletedAt `gorm:"index"`
	}
	Profile struct {
		ID     uint
		UserID uint
		Bio    string
	}
	Order struct {
		ID     uint
		UserID uint
		Amount int
		Items  []Item `gorm:"constraint:OnDelete:CASCADE"`
	}
	Item struct {
		ID      uint
		OrderID uint
		SKU     string
	}
	Language struct {
		ID   uint
		Code string `gorm:"uniqueIndex"`
	}
	Counter struct {
		ID uint
		N  int
	}
)

// userV2 is User after a schema change: a new column with a default and
// Email made NOT NULL, which GORM's SQLite migrator does by recreating the
// table inside a transaction.
type userV2 struct {
	ID        uint
	Name      string `gorm:"uniqueIndex;not null"`
	Email     string `gorm:"not null;default:''"`
	Karma     int    `gorm:"not null;default:7"`
	CreatedAt time.Time
	UpdatedAt time.Time
	DeletedAt gorm.DeletedAt `gorm:"index"`
}

func (userV2) TableName() string { return "users" }

// openGORM opens path through sqlite3-safe with GORM's SQLite dialector.
// The DSN turns foreign keys on so that GORM's constraints are enforced.
func openGORM(t testing.TB, path string, cfg *gorm.Config, params ...string) *gorm.DB {
	t.Helper()
	if cfg == nil {
		cfg = &gorm.Config{}
	}
	if cfg.Logger == nil {
		cfg.Logger = logger.Discard
	}
	params = append([]string{"_fk=1"}, params...)
	gdb, err := gorm.Open(sqlite.New(sqlite.Config{DriverName: sqlite3safe.DriverName, DSN: dsn(path, params...)}), cfg)
	if err != nil {
		t.Fatalf("gorm.Open: %v", err)
	}
	sqlDB, err := gdb.DB()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sqlDB.Close() })
	return gdb
}

func TestGORMAutoMigrateCRUDAssociations(t *testing.T) {
	path := dbPath(t, "gorm.db")
	db := openGORM(t, path, &gorm.Config{TranslateError: true})
	if err := db.AutoMigrate(&User{}, &Profile{}, &Order{}, &Item{}, &Language{}, &Counter{}); err != nil {
		t.Fatalf("AutoMigrate: %v", err)
	}
	for _, table := range []string{"users", "profiles", "orders", "items", "languages", "user_languages", "counters"} {
		if !db.Migrator().HasTable(table) {
			t.Fatalf("AutoMigrate did not create %s", table)
		}
	}

	// Create with every kind of association in one call.
	u := User{
		Name:      "ada",
		Email:     "ada@example.com",
		Profile:   Profile{Bio: "mathematician"},
		Orders:    []Order{{Amount: 10, Items: []Item{{SKU: "a"}, {SKU: "b"}}}, {Amount: 20}},
		Languages: []Language{{Code: "en"}, {Code: "fr"}},
	}
	if err := db.Create(&u).Error; err != nil {
		t.Fatalf("Create: %v", err)
	}
	if u.ID == 0 || u.Profile.ID == 0 || u.Orders[0].Items[1].ID == 0 || u.Languages[1].ID == 0 {
		t.Fatalf("Create did not fill IDs: %+v", u)
	}

	// Read back with Preload, nested.
	var got User
	if err := db.Preload("Profile").Preload("Orders.Items").Preload("Languages").First(&got, u.ID).Error; err != nil {
		t.Fatalf("First with Preload: %v", err)
	}
	if got.Profile.Bio != "mathematician" || len(got.Orders) != 2 || len(got.Orders[0].Items) != 2 || len(got.Languages) != 2 {
		t.Fatalf("Preload: got %+v", got)
	}

	// Joins (has-one) and aggregate.
	var bio string
	if err := db.Model(&User{}).Select("profiles.bio").Joins("JOIN profiles ON profiles.user_id = users.id").
		Where("users.name = ?", "ada").Scan(&bio).Error; err != nil || bio != "mathematician" {
		t.Fatalf("Joins: bio=%q err=%v", bio, err)
	}
	var total int
	if err := db.Model(&Order{}).Select("SUM(amount)").Where("user_id = ?", u.ID).Scan(&total).Error; err != nil || total != 30 {
		t.Fatalf("SUM: %d, %v", total, err)
	}

	// Updates: Save, Update, Updates with a map, UpdateColumn with an expression.
	got.Email = "ada@lovelace.org"
	if err := db.Save(&got).Error; err != nil {
		t.Fatalf("Save: %v", err)
	}
	if err := db.Model(&Order{}).Where("user_id = ?", u.ID).Update("amount", gorm.Expr("amount * 2")).Error; err != nil {
		t.Fatalf("Update expr: %v", err)
	}
	if err := db.Model(&got.Profile).Updates(map[string]any{"bio": "first programmer"}).Error; err != nil {
		t.Fatalf("Updates: %v", err)
	}
	if err := db.Model(&Order{}).Select("SUM(amount)").Where("user_id = ?", u.ID).Scan(&total).Error; err != nil || total != 60 {
		t.Fatalf("SUM after update: %d, %v", total, err)
	}

	// Association mode: append, count, replace, delete, clear.
	assoc := db.Model(&got).Association("Languages")
	if err := assoc.Append(&Language{Code: "de"}); err != nil {
		t.Fatalf("Association.Append: %v", err)
	}
	if n := assoc.Count(); n != 3 {
		t.Fatalf("Association.Count = %d, want 3", n)
	}
	if err := assoc.Replace([]Language{{Code: "la"}}); err != nil {
		t.Fatalf("Association.Replace: %v", err)
	}
	if n := db.Model(&got).Association("Languages").Count(); n != 1 {
		t.Fatalf("Count after Replace = %d, want 1", n)
	}
	if err := db.Model(&got).Association("Orders").Delete(&got.Orders[1]); err != nil {
		t.Fatalf("Association.Delete: %v", err)
	}
	if err := db.Model(&got).Association("Languages").Clear(); err != nil {
		t.Fatalf("Association.Clear: %v", err)
	}

	// Batch insert and FindInBatches.
	batch := make([]User, 250)
	for i := range batch {
		batch[i] = User{Name: fmt.Sprintf("user-%03d", i)}
	}
	if err := db.CreateInBatches(batch, 100).Error; err != nil {
		t.Fatalf("CreateInBatches: %v", err)
	}
	seen := 0
	if err := db.Model(&User{}).Where("name LIKE ?", "user-%").FindInBatches(&[]User{}, 60, func(tx *gorm.DB, _ int) error {
		seen += int(tx.RowsAffected)
		return nil
	}).Error; err != nil || seen != 250 {
		t.Fatalf("FindInBatches: seen %d, %v", seen, err)
	}

	// Error translation: the driver passes sqlite3.Error through unwrapped,
	// so GORM's translator (TranslateError: true) still maps it.
	err := db.Create(&User{Name: "ada"}).Error
	if !errors.Is(err, gorm.ErrDuplicatedKey) {
		t.Fatalf("duplicate name: got %v, want gorm.ErrDuplicatedKey", err)
	}
	err = db.Create(&Order{UserID: 999999, Amount: 1}).Error
	if !errors.Is(err, gorm.ErrForeignKeyViolated) {
		t.Fatalf("order of unknown user: got %v, want gorm.ErrForeignKeyViolated", err)
	}
	if err := db.First(&User{}, "name = ?", "nobody").Error; !errors.Is(err, gorm.ErrRecordNotFound) {
		t.Fatalf("First of nobody: %v", err)
	}

	// Delete: soft, then hard; cascades go with the hard delete.
	if err := db.Delete(&got).Error; err != nil {
		t.Fatalf("soft Delete: %v", err)
	}
	if err := db.First(&User{}, got.ID).Error; !errors.Is(err, gorm.ErrRecordNotFound) {
		t.Fatalf("soft-deleted user still found: %v", err)
	}
	if err := db.Unscoped().Delete(&got).Error; err != nil {
		t.Fatalf("hard Delete: %v", err)
	}
	var orphans int64
	if err := db.Model(&Item{}).Count(&orphans).Error; err != nil || orphans != 0 {
		t.Fatalf("items after cascading delete: %d, %v", orphans, err)
	}

	// A schema change: GORM's SQLite migrator adds the column and recreates
	// the table (CREATE, INSERT … SELECT, DROP, RENAME in one transaction).
	if err := db.AutoMigrate(&userV2{}); err != nil {
		t.Fatalf("AutoMigrate v2: %v", err)
	}
	if !db.Migrator().HasColumn(&userV2{}, "karma") {
		t.Fatal("AutoMigrate v2 did not add karma")
	}
	var karma []int
	if err := db.Model(&userV2{}).Distinct().Pluck("karma", &karma).Error; err != nil || len(karma) != 1 || karma[0] != 7 {
		t.Fatalf("karma after migration: %v, %v", karma, err)
	}
	var n int64
	if err := db.Model(&userV2{}).Count(&n).Error; err != nil || n != 250 {
		t.Fatalf("users after migration: %d, %v", n, err)
	}
	sqlDB, _ := db.DB()
	integrityCheck(t, sqlDB)
}

// TestGORMErrorsUntranslated: with TranslateError off (GORM's default) the
// error is go-sqlite3's own sqlite3.Error value, as with driver "sqlite3".
func TestGORMErrorsUntranslated(t *testing.T) {
	db := openGORM(t, dbPath(t, "raw.db"), nil)
	if err := db.AutoMigrate(&Language{}); err != nil {
		t.Fatal(err)
	}
	if err := db.Create(&Language{Code: "en"}).Error; err != nil {
		t.Fatal(err)
	}
	err := db.Create(&Language{Code: "en"}).Error
	se, ok := err.(sqlite3.Error)
	if !ok {
		t.Fatalf("error is %T (%v), want sqlite3.Error", err, err)
	}
	if se.ExtendedCode != sqlite3.ErrConstraintUnique {
		t.Fatalf("ExtendedCode = %v, want ErrConstraintUnique", se.ExtendedCode)
	}
}

func TestGORMNestedTransactions(t *testing.T) {
	db := openGORM(t, dbPath(t, "nested.db"), nil)
	if err := db.AutoMigrate(&Language{}); err != nil {
		t.Fatal(err)
	}
	errInner := errors.New("inner fails")
	err := db.Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&Language{Code: "outer-1"}).Error; err != nil {
			return err
		}
		// A nested transaction that fails rolls back to its SAVEPOINT only.
		if err := tx.Transaction(func(tx2 *gorm.DB) error {
			if err := tx2.Create(&Language{Code: "inner-rolled-back"}).Error; err != nil {
				return err
			}
			return errInner
		}); !errors.Is(err, errInner) {
			return fmt.Errorf("nested: got %v, want errInner", err)
		}
		// Two levels deep, committed.
		if err := tx.Transaction(func(tx2 *gorm.DB) error {
			if err := tx2.Create(&Language{Code: "inner-1"}).Error; err != nil {
				return err
			}
			return tx2.Transaction(func(tx3 *gorm.DB) error {
				return tx3.Create(&Language{Code: "inner-2"}).Error
			})
		}); err != nil {
			return err
		}
		// Manual savepoints.
		tx.SavePoint("sp_manual")
		tx.Create(&Language{Code: "manual-rolled-back"})
		tx.RollbackTo("sp_manual")
		return tx.Create(&Language{Code: "outer-2"}).Error
	})
	if err != nil {
		t.Fatalf("Transaction: %v", err)
	}
	// An outer transaction that fails takes its nested ones with it.
	_ = db.Transaction(func(tx *gorm.DB) error {
		_ = tx.Transaction(func(tx2 *gorm.DB) error { return tx2.Create(&Language{Code: "gone-inner"}).Error })
		_ = tx.Create(&Language{Code: "gone-outer"})
		return errors.New("roll it all back")
	})
	// Begin/Commit by hand, and a panic inside Transaction.
	tx := db.Begin()
	tx.Create(&Language{Code: "manual-tx"})
	if err := tx.Commit().Error; err != nil {
		t.Fatalf("Commit: %v", err)
	}
	func() {
		defer func() { _ = recover() }()
		_ = db.Transaction(func(tx *gorm.DB) error {
			tx.Create(&Language{Code: "panicked"})
			panic("boom")
		})
	}()

	var codes []string
	if err := db.Model(&Language{}).Order("code").Pluck("code", &codes).Error; err != nil {
		t.Fatal(err)
	}
	want := []string{"inner-1", "inner-2", "manual-tx", "outer-1", "outer-2"}
	if fmt.Sprint(codes) != fmt.Sprint(want) {
		t.Fatalf("rows = %v, want %v", codes, want)
	}
	// The lock came back every time: a write right now does not wait.
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := db.WithContext(ctx).Create(&Language{Code: "after"}).Error; err != nil {
		t.Fatalf("write after transactions: %v", err)
	}
}

// TestGORMConcurrentCounter: 50 goroutines each run 20 transactions that
// read a counter and write it back incremented. Under sqlite3-safe every
// transaction is BEGIN IMMEDIATE behind the write lock: no error, no lost
// update. Variants cover GORM's prepared-statement cache and
// SkipDefaultTransaction (writes outside transactions, INSERT … RETURNING
// on the *sql.DB).
func TestGORMConcurrentCounter(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  gorm.Config
	}{
		{"default", gorm.Config{}},
		{"PrepareStmt", gorm.Config{PrepareStmt: true}},
		{"SkipDefaultTransaction", gorm.Config{SkipDefaultTransaction: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			db := openGORM(t, dbPath(t, "counter.db"), &cfg)
			if err := db.AutoMigrate(&Counter{}, &Language{}); err != nil {
				t.Fatal(err)
			}
			if err := db.Create(&Counter{ID: 1}).Error; err != nil {
				t.Fatal(err)
			}
			const goroutines, rounds = 50, 20
			var e errs
			var wg sync.WaitGroup
			for g := 0; g < goroutines; g++ {
				wg.Add(1)
				go func(g int) {
					defer wg.Done()
					for i := 0; i < rounds; i++ {
						e.add(db.Transaction(func(tx *gorm.DB) error {
							var c Counter
							if err := tx.First(&c, 1).Error; err != nil {
								return err
							}
							c.N++
							return tx.Save(&c).Error
						}))
						// Plain writes and reads outside a transaction too.
						if i%5 == 0 {
							e.add(db.Create(&Language{Code: fmt.Sprintf("g%d-%d", g, i)}).Error)
						}
						var n int64
						e.add(db.Model(&Language{}).Count(&n).Error)
					}
				}(g)
			}
			wg.Wait()
			e.check(t)
			var c Counter
			if err := db.First(&c, 1).Error; err != nil {
				t.Fatal(err)
			}
			if c.N != goroutines*rounds {
				t.Fatalf("counter = %d, want %d (lost updates)", c.N, goroutines*rounds)
			}
			var n int64
			if err := db.Model(&Language{}).Count(&n).Error; err != nil || n != goroutines*rounds/5 {
				t.Fatalf("languages = %d, want %d (%v)", n, goroutines*rounds/5, err)
			}
		})
	}
}

// TestGORMWriteThroughDBInsideTransaction: the classic GORM mistake of
// writing through db instead of tx inside Transaction waits for itself;
// sqlite3-safe ends it with ErrLockTimeout (after _safe_lock_timeout), not
// a hang, and the error survives GORM's translator.
func TestGORMWriteThroughDBInsideTransaction(t *testing.T) {
	db := openGORM(t, dbPath(t, "deadlock.db"), &gorm.Config{TranslateError: true}, "_safe_lock_timeout=300")
	if err := db.AutoMigrate(&Language{}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err := db.Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&Language{Code: "in-tx"}).Error; err != nil {
			return err
		}
		return db.Create(&Language{Code: "through-db"}).Error // wrong handle
	})
	if !errors.Is(err, sqlite3safe.ErrLockTimeout) {
		t.Fatalf("got %v, want ErrLockTimeout", err)
	}
	var se sqlite3.Error
	if !errors.As(err, &se) || se.Code != sqlite3.ErrBusy {
		t.Fatalf("error does not match sqlite3.ErrBusy: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %v", d)
	}
	var n int64
	if err := db.Model(&Language{}).Count(&n).Error; err != nil || n != 0 {
		t.Fatalf("rows after rolled-back transaction: %d, %v", n, err)
	}
}
