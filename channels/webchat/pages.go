package webchat

import (
	"embed"
	"io/fs"
	"net/http"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/filesystem"
)

//go:embed static
var files embed.FS

// The chat page may be framed by any site that embeds the widget; it still
// runs only its own scripts.
const chatCSP = "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; connect-src 'self' ws: wss:; frame-ancestors *; base-uri 'none'; form-action 'self'"

// MountPages serves the customer pages: /chat (H5 page, also the widget's
// frame) and /widget.js (the embeddable snippet).
func MountPages(app *fiber.App) {
	sub, _ := fs.Sub(files, "static")
	app.Get("/chat", func(c *fiber.Ctx) error {
		b, err := fs.ReadFile(sub, "chat.html")
		if err != nil {
			return err
		}
		c.Set("Content-Security-Policy", chatCSP)
		c.Set("Cache-Control", "no-cache")
		c.Type("html", "utf-8")
		return c.Send(b)
	})
	app.Get("/widget.js", func(c *fiber.Ctx) error {
		b, err := fs.ReadFile(sub, "widget.js")
		if err != nil {
			return err
		}
		c.Set("Cache-Control", "public, max-age=300")
		c.Set("Access-Control-Allow-Origin", "*")
		c.Type("js", "utf-8")
		return c.Send(b)
	})
	app.Use("/chat/static", func(c *fiber.Ctx) error {
		c.Set("Content-Security-Policy", chatCSP)
		c.Set("Cache-Control", "no-cache")
		return c.Next()
	}, filesystem.New(filesystem.Config{Root: http.FS(sub)}))
}
