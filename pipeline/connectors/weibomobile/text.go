package weibomobile

import (
	"html"
	"net/url"
	"strings"
	"unicode/utf8"
)

// CleanHTML turns the HTML text of an m.weibo.cn mblog into plain text,
// keeping what analysis needs:
//
//   - hashtags (<span class="surl-text">#话题#</span>) and mentions
//     (<a href='/n/name'>@name</a>) as their text;
//   - emoticons as the alt text of their icon (<img alt=[哈哈]>);
//   - links as their URL: an anchor with a data-url, or a
//     weibo.cn/sinaurl?u=… redirect, is written as that URL instead of its
//     label ("网页链接");
//   - <br> as a line break; the trailing "...全文" link of truncated text
//     is dropped; other tags are removed and entities decoded.
//
// Invalid UTF-8 bytes are dropped. The result is never longer than s.
func CleanHTML(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "")
	}
	var out strings.Builder
	out.Grow(len(s))
	var a *anchor // the <a> being read, if any
	more := false // the text was cut and ends with a "全文" link
	w := &out
	for len(s) > 0 {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			w.WriteString(html.UnescapeString(s))
			break
		}
		w.WriteString(html.UnescapeString(s[:i]))
		s = s[i:]
		j := strings.IndexByte(s, '>')
		if j < 0 {
			// A lone '<' is text.
			w.WriteString(html.UnescapeString(s))
			break
		}
		tag := s[1:j]
		s = s[j+1:]
		name, closing := tagName(tag)
		switch {
		case name == "a" && !closing:
			if a != nil {
				out.WriteString(a.text.String())
			}
			a = &anchor{href: attr(tag, "href"), dataURL: attr(tag, "data-url")}
			w = &a.text
		case name == "a" && closing:
			if a != nil {
				r := a.result()
				if r == "" && a.more() {
					more = true
				}
				out.WriteString(r)
				a = nil
				w = &out
			}
		case name == "br":
			w.WriteByte('\n')
		case name == "img" && !closing:
			w.WriteString(attr(tag, "alt"))
		case name == "script" || name == "style":
			if !closing {
				s = s[indexCloseTag(s, name):]
			}
		}
	}
	if a != nil {
		out.WriteString(a.text.String())
	}
	text := strings.TrimSpace(out.String())
	if more {
		text = strings.TrimSpace(strings.TrimSuffix(strings.TrimSuffix(text, "..."), "…"))
	}
	return text
}

// indexCloseTag is where "</name" (any case) starts in s, or len(s).
func indexCloseTag(s, name string) int {
	for off := 0; ; {
		k := strings.Index(s[off:], "</")
		if k < 0 {
			return len(s)
		}
		k += off
		if end := k + 2 + len(name); end <= len(s) && strings.EqualFold(s[k+2:end], name) {
			return k
		}
		off = k + 2
	}
}

type anchor struct {
	href, dataURL string
	text          strings.Builder
}

// more reports whether the anchor is the "全文" link of a truncated text.
func (a *anchor) more() bool {
	return strings.TrimSpace(a.text.String()) == "全文" && strings.Contains(a.href, "/status/")
}

// result is what an anchor becomes in the text.
func (a *anchor) result() string {
	label := a.text.String()
	t := strings.TrimSpace(label)
	switch {
	case a.more():
		return ""
	case strings.HasPrefix(t, "#") || strings.HasPrefix(t, "@") || strings.HasPrefix(t, "＃"):
		return label
	}
	if u := linkTarget(a.dataURL, a.href); u != "" {
		return u
	}
	return label
}

// linkTarget is the external URL an anchor points to: its data-url, or the
// u parameter of a weibo.cn/sinaurl redirect, or an http(s) href outside
// weibo; "" when it is an internal link.
func linkTarget(dataURL, href string) string {
	if isHTTP(dataURL) {
		return dataURL
	}
	if !isHTTP(href) {
		return ""
	}
	u, err := url.Parse(href)
	if err != nil {
		return ""
	}
	if strings.HasSuffix(u.Host, "weibo.cn") || strings.HasSuffix(u.Host, "weibo.com") || strings.HasSuffix(u.Host, "sinaimg.cn") {
		if strings.Contains(u.Path, "sinaurl") {
			// The decoded parameter may hold any bytes (%80…): keep the
			// text valid UTF-8.
			if t := strings.ToValidUTF8(u.Query().Get("u"), ""); isHTTP(t) {
				return t
			}
		}
		return ""
	}
	return href
}

func isHTTP(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

// tagName returns the lower-case name of a tag body ("a href=…", "/a",
// "br /") and whether it closes.
func tagName(tag string) (string, bool) {
	tag = strings.TrimSpace(tag)
	closing := strings.HasPrefix(tag, "/")
	tag = strings.TrimPrefix(tag, "/")
	end := len(tag)
	for i := 0; i < len(tag); i++ {
		if c := tag[i]; c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '/' {
			end = i
			break
		}
	}
	return strings.ToLower(tag[:end]), closing
}

// attr returns the value of attribute name in a tag body; values may be
// quoted with ' or " or not at all (alt=[哈哈]).
func attr(tag, name string) string {
	lower := strings.ToLower(tag)
	for off := 0; off < len(lower); {
		i := strings.Index(lower[off:], name+"=")
		if i < 0 {
			return ""
		}
		i += off
		if c := lower[max(i-1, 0)]; i > 0 && c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			off = i + len(name)
			continue
		}
		v := tag[i+len(name)+1:]
		if v == "" {
			return ""
		}
		if q := v[0]; q == '"' || q == '\'' {
			if k := strings.IndexByte(v[1:], q); k >= 0 {
				return html.UnescapeString(v[1 : k+1])
			}
			return ""
		}
		if k := strings.IndexAny(v, " \t\n\r>"); k >= 0 {
			v = v[:k]
		}
		return html.UnescapeString(strings.TrimSuffix(v, "/"))
	}
	return ""
}
