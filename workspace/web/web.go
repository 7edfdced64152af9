// Package web serves the hub's browser pages: plain HTML, CSS and
// JavaScript modules embedded in the binary (no build step).
package web

import (
	"embed"
	"io/fs"
	"net/http"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/filesystem"
)

//go:embed static
var files embed.FS

// csp keeps pages to their own scripts and styles: text from the API is
// always inserted with textContent, and no inline script can run even if
// something slipped through.
const csp = "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; style-src 'self'; script-src 'self'; connect-src 'self' ws: wss:; frame-ancestors 'self'; base-uri 'none'; form-action 'self'"

// Mount serves the pages on app.
func Mount(app *fiber.App) {
	sub, _ := fs.Sub(files, "static")
	page := func(name string) fiber.Handler {
		return func(c *fiber.Ctx) error {
			b, err := fs.ReadFile(sub, name)
			if err != nil {
				return err
			}
			c.Set("Content-Security-Policy", csp)
			c.Set("Cache-Control", "no-cache")
			c.Type("html", "utf-8")
			return c.Send(b)
		}
	}
	app.Get("/", page("login.html"))
	app.Get("/login", page("login.html"))
	app.Get("/app", page("app.html"))
	app.Get("/inbox", page("inbox.html"))
	app.Use("/static", func(c *fiber.Ctx) error {
		c.Set("Content-Security-Policy", csp)
		c.Set("Cache-Control", "no-cache")
		return c.Next()
	}, filesystem.New(filesystem.Config{Root: http.FS(sub)}))
}
