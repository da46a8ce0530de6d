package wechatpush

import (
	"encoding/xml"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/iwom/iwom/pipeline/post"
)

// ErrMalformed marks a body that is not a WeChat XML message.
var ErrMalformed = errors.New("malformed WeChat message")

// Message is a pushed message or event (plain fields), or a safe-mode
// envelope (Encrypt), or both (compatible mode).
type Message struct {
	XMLName      xml.Name `xml:"xml"`
	ToUserName   string   `xml:"ToUserName"`
	FromUserName string   `xml:"FromUserName"`
	CreateTime   string   `xml:"CreateTime"`
	MsgType      string   `xml:"MsgType"`
	Content      string   `xml:"Content"`
	MsgID        string   `xml:"MsgId"`
	MsgDataID    string   `xml:"MsgDataId"`
	Idx          string   `xml:"Idx"`
	Event        string   `xml:"Event"`
	EventKey     string   `xml:"EventKey"`
	Title        string   `xml:"Title"`
	Description  string   `xml:"Description"`
	URL          string   `xml:"Url"`
	Recognition  string   `xml:"Recognition"`
	Label        string   `xml:"Label"`
	Encrypt      string   `xml:"Encrypt"`
}

// ParseXML decodes one <xml> document.
func ParseXML(data []byte) (*Message, error) {
	var m Message
	if err := xml.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return &m, nil
}

// Check reports whether m is a complete message (not just an envelope)
// whose CreateTime a post can hold. Its errors wrap ErrMalformed and
// post.ErrInvalid: such a message can never be stored.
func (m *Message) Check() error {
	switch {
	case strings.TrimSpace(m.MsgType) == "":
		return fmt.Errorf("%w: %w: no MsgType", ErrMalformed, post.ErrInvalid)
	case strings.TrimSpace(m.FromUserName) == "":
		return fmt.Errorf("%w: %w: no FromUserName", ErrMalformed, post.ErrInvalid)
	case m.MsgType != "event" && strings.TrimSpace(m.MsgID) == "":
		return fmt.Errorf("%w: %w: %.40q message without MsgId", ErrMalformed, post.ErrInvalid, m.MsgType)
	}
	if _, err := m.Created(); err != nil {
		return err
	}
	return nil
}

// Created is CreateTime as a time. CreateTime must be Unix seconds that a
// post's created_at can hold (post.MinCreatedAt..post.MaxCreatedAt, the
// range of ClickHouse's DateTime with a day of margin): anything else —
// negative, 0, past 2106, 2^40−1 — is an error wrapping ErrMalformed and
// post.ErrInvalid, never a time that cannot be encoded or stored.
func (m *Message) Created() (time.Time, error) {
	s := strings.TrimSpace(m.CreateTime)
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: %w: CreateTime %.24q is not a Unix time", ErrMalformed, post.ErrInvalid, s)
	}
	if n < post.MinCreatedAt.Unix() || n > post.MaxCreatedAt.Unix() {
		return time.Time{}, fmt.Errorf("%w: %w: CreateTime %d is outside %s..%s", ErrMalformed, post.ErrInvalid, n,
			post.MinCreatedAt.Format(time.DateOnly), post.MaxCreatedAt.Format(time.DateOnly))
	}
	return time.Unix(n, 0).UTC(), nil
}

// DedupKey identifies a message across WeChat's retries: its MsgId, or
// for an event its sender and time.
func (m *Message) DedupKey() string {
	if m.MsgID != "" {
		return m.ToUserName + "|" + m.MsgID
	}
	return m.ToUserName + "|" + m.FromUserName + "|" + m.CreateTime + "|" + m.Event + "|" + m.EventKey
}

// Post is the word of mouth m carries, or nil for messages without words
// (events, pictures, voice without recognition…). A post it returns has
// every field within post.Validate's fixed bounds (the limits that depend
// on the configuration — text size, future skew — are the publisher's to
// check); its errors wrap ErrMalformed and post.ErrInvalid.
func (m *Message) Post() (*post.Post, error) {
	if err := m.Check(); err != nil {
		return nil, err
	}
	var text string
	switch m.MsgType {
	case "text":
		text = m.Content
	case "link":
		text = strings.TrimSpace(m.Title + " " + m.Description + " " + m.URL)
	case "voice":
		text = m.Recognition
	case "location":
		text = m.Label
	}
	if strings.TrimSpace(text) == "" {
		return nil, nil
	}
	created, _ := m.Created()
	id := "msg-" + m.MsgID
	if m.ToUserName != "" {
		id = "msg-" + m.ToUserName + "-" + m.MsgID
	}
	p := &post.Post{
		Platform:  post.PlatformWechat,
		ID:        id,
		Kind:      post.KindMessage,
		Text:      text,
		CreatedAt: created,
		Author:    post.Author{ID: m.FromUserName},
	}
	if err := p.Validate(post.Limits{}); err != nil {
		return nil, fmt.Errorf("%w: message %.40q: %w", ErrMalformed, m.MsgID, err)
	}
	return p, nil
}
