package kb

import (
	"net/url"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// Answers are rich text that the web UI, the chat widget and agents' screens
// render as HTML, so they are sanitised when written (not when read): only
// the elements below survive, with only the listed attributes, and links
// and images only with safe URLs. Other elements are dropped but their text
// is kept (escaped); the content of script, style and similar elements is
// dropped with them. Sanitising is idempotent, so exported answers import
// unchanged.

// allowedTags are the elements kept (br and img are void).
var allowedTags = map[atom.Atom]bool{
	atom.P: true, atom.Br: true, atom.B: true, atom.Strong: true, atom.I: true, atom.Em: true,
	atom.Ul: true, atom.Ol: true, atom.Li: true, atom.A: true, atom.Img: true,
}

// droppedWithContent are elements whose content is not text for a reader.
var droppedWithContent = map[atom.Atom]bool{
	atom.Script: true, atom.Style: true, atom.Iframe: true, atom.Object: true, atom.Embed: true,
	atom.Noscript: true, atom.Template: true, atom.Title: true, atom.Svg: true, atom.Math: true,
	atom.Textarea: true, atom.Select: true, atom.Frameset: true, atom.Frame: true, atom.Noembed: true,
	atom.Noframes: true, atom.Xmp: true, atom.Plaintext: true, atom.Head: true,
}

// attachmentPrefix is where the hub serves uploaded files; images may point
// there as well as to http(s) URLs.
const attachmentPrefix = "/api/v1/attachments/"

// SanitizeHTML returns the safe subset of an answer's HTML: p, br, b,
// strong, i, em, ul, ol, li, a (href http, https or mailto) and img (src
// http, https or /api/v1/attachments/..., alt). Everything else is escaped
// or dropped; unclosed elements are closed.
func SanitizeHTML(s string) string {
	if !strings.ContainsAny(s, "<>&") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	z := html.NewTokenizer(strings.NewReader(s))
	var open []atom.Atom // allowed elements open in the output
	skip := 0            // depth inside droppedWithContent elements
	var skipTag atom.Atom
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			break // io.EOF, or input the tokenizer cannot go past: stop there
		}
		tok := z.Token()
		if skip > 0 {
			switch {
			case tt == html.StartTagToken && tok.DataAtom == skipTag:
				skip++
			case tt == html.EndTagToken && tok.DataAtom == skipTag:
				skip--
			}
			continue
		}
		switch tt {
		case html.TextToken:
			b.WriteString(escapeText(tok.Data))
		case html.StartTagToken, html.SelfClosingTagToken:
			a := tok.DataAtom
			if droppedWithContent[a] {
				if tt == html.StartTagToken {
					skip, skipTag = 1, a
				}
				continue
			}
			if !allowedTags[a] {
				continue
			}
			attrs, ok := safeAttrs(a, tok.Attr)
			if !ok {
				continue // a link or image without a safe URL
			}
			b.WriteByte('<')
			b.WriteString(a.String())
			b.WriteString(attrs)
			b.WriteByte('>')
			if a != atom.Br && a != atom.Img && tt == html.StartTagToken {
				open = append(open, a)
			} else if a != atom.Br && a != atom.Img {
				b.WriteString("</" + a.String() + ">")
			}
		case html.EndTagToken:
			a := tok.DataAtom
			if !allowedTags[a] || a == atom.Br || a == atom.Img {
				continue
			}
			// Close up to the matching open element; ignore a stray end tag.
			for i := len(open) - 1; i >= 0; i-- {
				if open[i] == a {
					for j := len(open) - 1; j >= i; j-- {
						b.WriteString("</" + open[j].String() + ">")
					}
					open = open[:i]
					break
				}
			}
		}
		// Comments and doctypes are dropped.
	}
	for j := len(open) - 1; j >= 0; j-- {
		b.WriteString("</" + open[j].String() + ">")
	}
	return strings.TrimSpace(b.String())
}

// escapeText escapes text for HTML content. Quotes need no escaping there,
// which keeps plain-text answers readable in exports.
func escapeText(s string) string {
	if !strings.ContainsAny(s, "<>&") {
		return s
	}
	return textEscaper.Replace(s)
}

var textEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// safeAttrs renders the allowed attributes of an element. ok is false for a
// link or image whose URL is missing or unsafe.
func safeAttrs(a atom.Atom, attrs []html.Attribute) (string, bool) {
	var b strings.Builder
	switch a {
	case atom.A:
		href := ""
		for _, at := range attrs {
			if at.Namespace == "" && strings.EqualFold(at.Key, "href") {
				href = at.Val
			}
		}
		u, ok := safeURL(href, false)
		if !ok {
			return "", false
		}
		b.WriteString(` href="` + html.EscapeString(u) + `" rel="noopener noreferrer nofollow"`)
	case atom.Img:
		src, alt := "", ""
		for _, at := range attrs {
			switch {
			case at.Namespace != "":
			case strings.EqualFold(at.Key, "src"):
				src = at.Val
			case strings.EqualFold(at.Key, "alt"):
				alt = at.Val
			}
		}
		u, ok := safeURL(src, true)
		if !ok {
			return "", false
		}
		b.WriteString(` src="` + html.EscapeString(u) + `"`)
		if alt != "" {
			b.WriteString(` alt="` + html.EscapeString(alt) + `"`)
		}
	}
	return b.String(), true
}

// safeURL accepts http, https (and for links mailto) URLs, and for images
// paths under the hub's attachments.
func safeURL(raw string, image bool) (string, bool) {
	s := strings.TrimSpace(raw)
	if s == "" || len(s) > 2048 || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "", false
	}
	if image && strings.HasPrefix(s, attachmentPrefix) {
		rest := s[len(attachmentPrefix):]
		if rest == "" || strings.Contains(rest, "..") || strings.ContainsAny(rest, `\`) {
			return "", false
		}
		return s, true
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", false
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		if u.Host == "" {
			return "", false
		}
		return s, true
	case "mailto":
		if image || u.Opaque == "" {
			return "", false
		}
		return s, true
	}
	return "", false
}
