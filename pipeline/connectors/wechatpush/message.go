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

// Check reports whether m is a complete message (not just an envelope).
func (m *Message) Check() error {
	switch {
	case strings.TrimSpace(m.MsgType) == "":
		return fmt.Errorf("%w: no MsgType", ErrMalformed)
	case strings.TrimSpace(m.FromUserName) == "":
		return fmt.Errorf("%w: no FromUserName", ErrMalformed)
	case m.MsgType != "event" && strings.TrimSpace(m.MsgID) == "":
		return fmt.Errorf("%w: %s message without MsgId", ErrMalformed, m.MsgType)
	}
	if _, err := m.Created(); err != nil {
		return err
	}
	return nil
}

// Created is CreateTime as a time.
func (m *Message) Created() (time.Time, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(m.CreateTime), 10, 64)
	if err != nil || n <= 0 || n > 1<<40 {
		return time.Time{}, fmt.Errorf("%w: CreateTime %.20q is not a Unix time", ErrMalformed, m.CreateTime)
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
// (events, pictures, voice without recognition…).
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
	if strings.ContainsAny(id, " \t\r\n") || len(id) > 256 {
		return nil, fmt.Errorf("%w: unusable MsgId %.40q", ErrMalformed, m.MsgID)
	}
	return &post.Post{
		Platform:  post.PlatformWechat,
		ID:        id,
		Kind:      "message",
		Text:      text,
		CreatedAt: created,
		Author:    post.Author{ID: m.FromUserName},
	}, nil
}
