package kb

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"mime"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/omnihub/hub/internal/accounts"
	"github.com/omnihub/hub/internal/httpapi"
)

// MaxImportBytes caps an uploaded import file.
const MaxImportBytes = 20 << 20

// Mount registers the knowledge-base routes on the authenticated /api/v1
// router (httpapi.RequireAuth must run before them):
//
//	GET    /kb/search?q=&limit=[&all=true]   any role (all: admin, supervisor)
//	GET    /kb/suggest?text=&limit=          any role
//	GET    /kb/articles?category=&q=&enabled=&after=&limit=   any role
//	POST   /kb/articles                      admin, supervisor
//	GET    /kb/articles/:id                  any role
//	PUT    /kb/articles/:id                  admin, supervisor
//	DELETE /kb/articles/:id                  admin, supervisor
//	GET    /kb/articles/:id/history          any role
//	POST   /kb/articles/:id/feedback         any role  {"helpful": true|false}
//	POST   /kb/import                        admin, supervisor (multipart field "file", .csv or .xlsx)
//	GET    /kb/export?format=csv|xlsx        admin, supervisor
//	GET    /kb/synonyms, PUT /kb/synonyms    admin, supervisor
//	GET    /kb/unanswered?limit=             admin, supervisor
//	DELETE /kb/unanswered/:id                admin, supervisor
//	GET    /kb/bot/:group, PUT /kb/bot/:group  admin
func (s *Service) Mount(r fiber.Router) {
	r.Get("/kb/search", httpapi.AnyRole(), s.hSearch)
	r.Get("/kb/suggest", httpapi.AnyRole(), s.hSuggest)
	r.Get("/kb/articles", httpapi.AnyRole(), s.hList)
	r.Post("/kb/articles", httpapi.Staff(), s.hCreate)
	r.Get("/kb/articles/:id", httpapi.AnyRole(), s.hGet)
	r.Put("/kb/articles/:id", httpapi.Staff(), s.hUpdate)
	r.Delete("/kb/articles/:id", httpapi.Staff(), s.hDelete)
	r.Get("/kb/articles/:id/history", httpapi.AnyRole(), s.hHistory)
	r.Post("/kb/articles/:id/feedback", httpapi.AnyRole(), s.hFeedback)
	r.Post("/kb/import", httpapi.Staff(), s.hImport)
	r.Get("/kb/export", httpapi.Staff(), s.hExport)
	r.Get("/kb/synonyms", httpapi.Staff(), s.hGetSynonyms)
	r.Put("/kb/synonyms", httpapi.Staff(), s.hPutSynonyms)
	r.Get("/kb/unanswered", httpapi.Staff(), s.hUnanswered)
	r.Delete("/kb/unanswered/:id", httpapi.Staff(), s.hDismiss)
	r.Get("/kb/bot/:group", httpapi.AdminOnly(), s.hGetBot)
	r.Put("/kb/bot/:group", httpapi.AdminOnly(), s.hPutBot)
}

// apiError maps the service's sentinels to HTTP errors; typed store and
// field errors are mapped by httpapi.ErrorHandler.
func apiError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrUnsupportedFormat):
		return &httpapi.Error{Status: fiber.StatusUnsupportedMediaType, Code: "unsupported_media_type", Message: err.Error(), Field: "file"}
	case errors.Is(err, ErrVersionConflict):
		return &httpapi.Error{Status: fiber.StatusConflict, Code: "version_conflict", Message: err.Error(), Field: "version"}
	case errors.Is(err, ErrClosed):
		return &httpapi.Error{Status: fiber.StatusServiceUnavailable, Code: "unavailable", Message: err.Error()}
	}
	return err
}

// editorCtx scopes the request's context to its principal as the editor.
func editorCtx(c *fiber.Ctx) {
	p := httpapi.PrincipalOf(c)
	name := p.Name
	if name == "" {
		name = p.Username
	}
	c.SetUserContext(WithEditor(c.UserContext(), Editor{ID: string(p.UserID), Name: name}))
}

func isEditor(c *fiber.Ctx) bool {
	r := httpapi.PrincipalOf(c).Role
	return r == accounts.RoleAdmin || r == accounts.RoleSupervisor
}

func (s *Service) hSearch(c *fiber.Ctx) error {
	limit, err := httpapi.QueryInt(c, "limit", 10, 1, 100)
	if err != nil {
		return err
	}
	all, err := queryBool(c, "all")
	if err != nil {
		return err
	}
	var hits []Hit
	if all != nil && *all {
		if !isEditor(c) {
			return httpapi.Forbidden("only admins and supervisors may search disabled articles")
		}
		hits, err = s.SearchAll(c.UserContext(), c.Query("q"), limit)
	} else {
		hits, err = s.Search(c.UserContext(), c.Query("q"), limit)
	}
	if err != nil {
		return apiError(err)
	}
	return c.JSON(fiber.Map{"hits": hits})
}

func (s *Service) hSuggest(c *fiber.Ctx) error {
	limit, err := httpapi.QueryInt(c, "limit", 5, 1, 20)
	if err != nil {
		return err
	}
	hits, err := s.Suggest(c.UserContext(), c.Query("text"), limit)
	if err != nil {
		return apiError(err)
	}
	return c.JSON(fiber.Map{"hits": hits})
}

func queryBool(c *fiber.Ctx, name string) (*bool, error) {
	var v bool
	switch c.Query(name) {
	case "":
		return nil, nil
	case "true", "1":
		v = true
	case "false", "0":
		v = false
	default:
		return nil, httpapi.BadRequest(name, name+" must be true or false")
	}
	return &v, nil
}

func (s *Service) hList(c *fiber.Ctx) error {
	limit, err := httpapi.QueryInt(c, "limit", 50, 1, 500)
	if err != nil {
		return err
	}
	enabled, err := queryBool(c, "enabled")
	if err != nil {
		return err
	}
	page, err := s.ListArticles(c.UserContext(), ListQuery{Category: c.Query("category"), Q: c.Query("q"), Enabled: enabled, After: c.Query("after"), Limit: limit})
	if err != nil {
		return apiError(err)
	}
	return c.JSON(page)
}

// articleBody is ArticleInput on the wire, with the times as strings so a
// bad one is reported by field name.
type articleBody struct {
	Question  string   `json:"question"`
	Similar   []string `json:"similar_questions"`
	Answer    string   `json:"answer"`
	Category  string   `json:"category"`
	Tags      []string `json:"tags"`
	Enabled   *bool    `json:"enabled"`
	ValidFrom *string  `json:"valid_from"`
	ValidTo   *string  `json:"valid_to"`
	Version   int      `json:"version"`
}

func decodeArticle(c *fiber.Ctx) (ArticleInput, error) {
	var b articleBody
	if err := httpapi.DecodeJSON(c, &b); err != nil {
		return ArticleInput{}, err
	}
	in := ArticleInput{Question: b.Question, Similar: b.Similar, Answer: b.Answer, Category: b.Category, Tags: b.Tags, Enabled: b.Enabled, Version: b.Version}
	for _, f := range []struct {
		name string
		v    *string
		to   **time.Time
	}{{"valid_from", b.ValidFrom, &in.ValidFrom}, {"valid_to", b.ValidTo, &in.ValidTo}} {
		if f.v == nil || *f.v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, *f.v)
		if err != nil {
			return ArticleInput{}, httpapi.BadRequest(f.name, f.name+" must be an RFC 3339 time such as 2026-01-02T15:04:05+08:00")
		}
		*f.to = &t
	}
	return in, nil
}

func (s *Service) hCreate(c *fiber.Ctx) error {
	in, err := decodeArticle(c)
	if err != nil {
		return err
	}
	editorCtx(c)
	a, err := s.CreateArticle(c.UserContext(), in)
	if err != nil {
		return apiError(err)
	}
	return c.Status(fiber.StatusCreated).JSON(a)
}

func (s *Service) hGet(c *fiber.Ctx) error {
	a, err := s.Article(c.UserContext(), ArticleID(c.Params("id")))
	if err != nil {
		return apiError(err)
	}
	return c.JSON(a)
}

func (s *Service) hUpdate(c *fiber.Ctx) error {
	in, err := decodeArticle(c)
	if err != nil {
		return err
	}
	editorCtx(c)
	a, err := s.UpdateArticle(c.UserContext(), ArticleID(c.Params("id")), in)
	if err != nil {
		return apiError(err)
	}
	return c.JSON(a)
}

func (s *Service) hDelete(c *fiber.Ctx) error {
	editorCtx(c)
	if err := s.DeleteArticle(c.UserContext(), ArticleID(c.Params("id"))); err != nil {
		return apiError(err)
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *Service) hHistory(c *fiber.Ctx) error {
	revs, err := s.History(c.UserContext(), ArticleID(c.Params("id")))
	if err != nil {
		return apiError(err)
	}
	return c.JSON(fiber.Map{"history": revs})
}

func (s *Service) hFeedback(c *fiber.Ctx) error {
	var in struct {
		Helpful *bool `json:"helpful"`
	}
	if err := httpapi.DecodeJSON(c, &in); err != nil {
		return err
	}
	if in.Helpful == nil {
		return httpapi.BadRequest("helpful", "helpful is required (true or false)")
	}
	if err := s.Helpful(c.UserContext(), ArticleID(c.Params("id")), *in.Helpful); err != nil {
		return apiError(err)
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *Service) hImport(c *fiber.Ctx) error {
	mt, _, _ := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	if mt != fiber.MIMEMultipartForm {
		return &httpapi.Error{Status: fiber.StatusUnsupportedMediaType, Code: "unsupported_media_type", Message: "body must be multipart/form-data with the file in the field \"file\""}
	}
	// The file is read as a stream from the request (the hub bounds the
	// body by MaxImportBody before it is read): nothing is spooled.
	part, err := httpapi.FormFile(c, "file")
	if err != nil {
		return err
	}
	defer part.Close()
	if _, err := FormatOf(part.FileName()); err != nil {
		return apiError(err)
	}
	editorCtx(c)
	ir := &importReader{r: part, left: MaxImportBytes}
	rep, err := s.Import(c.UserContext(), part.FileName(), ir)
	if ir.tooLarge {
		return &httpapi.Error{Status: fiber.StatusRequestEntityTooLarge, Code: "too_large", Message: fmt.Sprintf("file is larger than %d MB", MaxImportBytes>>20), Field: "file"}
	}
	if err != nil {
		return apiError(err)
	}
	return c.JSON(rep)
}

// MaxImportBody is the largest request body an import can need: the file
// and the multipart framing around it.
const MaxImportBody = MaxImportBytes + 64<<10

var errImportTooLarge = errors.New("import file is too large")

// importReader fails once the file passes MaxImportBytes or the request
// passes its body limit, and remembers it (Import reports a parse error
// without its cause).
type importReader struct {
	r        io.Reader
	left     int64
	tooLarge bool
}

func (r *importReader) Read(p []byte) (int, error) {
	if r.tooLarge {
		return 0, errImportTooLarge
	}
	if int64(len(p)) > r.left+1 {
		p = p[:r.left+1]
	}
	n, err := r.r.Read(p)
	r.left -= int64(n)
	var he *httpapi.Error
	if r.left < 0 || (errors.As(err, &he) && he.Status == fiber.StatusRequestEntityTooLarge) {
		r.tooLarge = true
		return 0, errImportTooLarge
	}
	return n, err
}

func (s *Service) hExport(c *fiber.Ctx) error {
	format := c.Query("format", FormatCSV)
	ctype := "text/csv; charset=utf-8"
	switch format {
	case FormatCSV:
	case FormatXLSX:
		ctype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	default:
		return httpapi.BadRequest("format", "format must be csv or xlsx")
	}
	ctx := c.UserContext()
	if _, _, err := s.tenant(ctx); err != nil {
		return apiError(err)
	}
	c.Set(fiber.HeaderContentType, ctype)
	c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="kb-%s.%s"`, time.Now().UTC().Format("20060102-150405"), format))
	// Streamed: articles are read a page at a time and sent as they are
	// written (fasthttp runs the writer after this handler returns). A
	// failure midway cuts the connection, so a partial file never looks
	// complete.
	rc := c.Context()
	rc.SetBodyStreamWriter(func(w *bufio.Writer) {
		err := s.Export(ctx, format, w)
		if err == nil {
			err = w.Flush()
		}
		if err != nil {
			s.log.Warn("kb export cut", "err", err)
			_ = rc.Conn().Close()
		}
	})
	return nil
}

func (s *Service) hGetSynonyms(c *fiber.Ctx) error {
	syn, err := s.Synonyms(c.UserContext())
	if err != nil {
		return apiError(err)
	}
	return c.JSON(syn)
}

func (s *Service) hPutSynonyms(c *fiber.Ctx) error {
	var in struct {
		Groups [][]string `json:"groups"`
	}
	if err := httpapi.DecodeJSON(c, &in); err != nil {
		return err
	}
	editorCtx(c)
	syn, err := s.SetSynonyms(c.UserContext(), in.Groups)
	if err != nil {
		return apiError(err)
	}
	return c.JSON(syn)
}

func (s *Service) hUnanswered(c *fiber.Ctx) error {
	limit, err := httpapi.QueryInt(c, "limit", 100, 1, 1000)
	if err != nil {
		return err
	}
	list, err := s.UnansweredList(c.UserContext(), limit)
	if err != nil {
		return apiError(err)
	}
	return c.JSON(fiber.Map{"unanswered": list})
}

func (s *Service) hDismiss(c *fiber.Ctx) error {
	if err := s.DismissUnanswered(c.UserContext(), c.Params("id")); err != nil {
		return apiError(err)
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *Service) hGetBot(c *fiber.Ctx) error {
	b, err := s.BotSettings(c.UserContext(), c.Params("group"))
	if err != nil {
		return apiError(err)
	}
	return c.JSON(b)
}

func (s *Service) hPutBot(c *fiber.Ctx) error {
	var in struct {
		Enabled    *bool     `json:"enabled"`
		Channels   *[]string `json:"channels"`
		Threshold  float64   `json:"threshold"`
		MaxChoices int       `json:"max_choices"`
	}
	if err := httpapi.DecodeJSON(c, &in); err != nil {
		return err
	}
	b := BotSettings{Enabled: true, Channels: DefaultBotChannels, Threshold: in.Threshold, MaxChoices: in.MaxChoices}
	if in.Enabled != nil {
		b.Enabled = *in.Enabled
	}
	if in.Channels != nil {
		b.Channels = *in.Channels
	}
	editorCtx(c)
	out, err := s.SetBotSettings(c.UserContext(), c.Params("group"), b)
	if err != nil {
		return apiError(err)
	}
	return c.JSON(out)
}
