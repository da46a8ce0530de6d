package fakeplatform

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// PushMessage is a message or event WeChat pushes to an account's server.
type PushMessage struct {
	ToUserName   string // the account (gh_…)
	FromUserName string // the user's openid
	CreateTime   int64
	MsgType      string // text, event, …
	Content      string
	MsgID        int64 // 0 for events
	Event        string
}

// Key is the post key a receiver publishes for a text message.
func (m PushMessage) Key() string {
	return "wechat:msg-" + m.ToUserName + "-" + strconv.FormatInt(m.MsgID, 10)
}

// XML is the message as WeChat writes it.
func (m PushMessage) XML() []byte {
	var b strings.Builder
	b.WriteString("<xml><ToUserName><![CDATA[" + m.ToUserName + "]]></ToUserName>")
	b.WriteString("<FromUserName><![CDATA[" + m.FromUserName + "]]></FromUserName>")
	b.WriteString("<CreateTime>" + strconv.FormatInt(m.CreateTime, 10) + "</CreateTime>")
	b.WriteString("<MsgType><![CDATA[" + m.MsgType + "]]></MsgType>")
	if m.MsgType == "event" {
		b.WriteString("<Event><![CDATA[" + m.Event + "]]></Event>")
	} else {
		b.WriteString("<Content><![CDATA[" + strings.ReplaceAll(m.Content, "]]>", "]]]]><![CDATA[>") + "]]></Content>")
		b.WriteString("<MsgId>" + strconv.FormatInt(m.MsgID, 10) + "</MsgId>")
	}
	b.WriteString("</xml>")
	return []byte(b.String())
}

// Mode is how the account's messages are sent.
type Mode int

// Modes.
const (
	Plain      Mode = iota // 明文模式
	Compatible             // 兼容模式: plain fields and Encrypt
	Safe                   // 安全模式: Encrypt only
)

func (m Mode) String() string { return [...]string{"plain", "compatible", "safe"}[m] }

// Pusher plays WeChat's side of the push protocol against a receiver.
type Pusher struct {
	URL            string // the receiver's URL
	Token          string
	EncodingAESKey string // 43 characters
	AppID          string
	Now            func() time.Time // default time.Now
	Client         *http.Client     // default: 5 s timeout, as WeChat waits
	Retries        int              // retries after a failure (WeChat: 3)
}

// Tamper spoils a push the ways an attacker or a broken sender would.
type Tamper struct {
	Timestamp       time.Time // instead of now (a replayed or stale call)
	Nonce           string    // instead of a random nonce (a replayed call)
	BadSignature    bool      // signature off by one character
	BadMsgSignature bool      // msg_signature off by one character
	BadPadding      bool      // PKCS#7 padding byte out of range
	AppID           string    // appid written into the plaintext instead of Pusher.AppID
	Inner           []byte    // encrypt this instead of the message's XML (safe and compatible modes)
	Body            []byte    // send this body as it is
}

func (p *Pusher) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

func (p *Pusher) client() *http.Client {
	if p.Client != nil {
		return p.Client
	}
	return &http.Client{Timeout: 5 * time.Second}
}

// Push sends m in mode, retrying like WeChat when the answer is not a
// 200 (up to Retries times). It returns the last status and body.
func (p *Pusher) Push(ctx context.Context, m PushMessage, mode Mode) (int, string, error) {
	var status int
	var body string
	var err error
	for attempt := 0; attempt <= p.Retries; attempt++ {
		var req *http.Request
		req, err = p.Request(ctx, m, mode, Tamper{})
		if err != nil {
			return 0, "", err
		}
		status, body, err = p.do(req)
		if err == nil && status == http.StatusOK {
			return status, body, nil
		}
		if ctx.Err() != nil {
			return status, body, ctx.Err()
		}
		select {
		case <-ctx.Done():
			return status, body, ctx.Err()
		case <-time.After(time.Duration(attempt+1) * 20 * time.Millisecond):
		}
	}
	return status, body, err
}

// Send sends one (possibly tampered) push without retrying.
func (p *Pusher) Send(ctx context.Context, m PushMessage, mode Mode, t Tamper) (int, string, error) {
	req, err := p.Request(ctx, m, mode, t)
	if err != nil {
		return 0, "", err
	}
	return p.do(req)
}

func (p *Pusher) do(req *http.Request) (int, string, error) {
	resp, err := p.client().Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(b), err
}

// Verify plays the server verification WeChat does when the URL is set.
func (p *Pusher) Verify(ctx context.Context, echostr string, t Tamper) (int, string, error) {
	ts, nonce := p.stamp(t)
	sig := sign(p.Token, ts, nonce)
	if t.BadSignature {
		sig = spoil(sig)
	}
	q := url.Values{"signature": {sig}, "timestamp": {ts}, "nonce": {nonce}, "echostr": {echostr}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL+"?"+q.Encode(), nil)
	if err != nil {
		return 0, "", err
	}
	return p.do(req)
}

func (p *Pusher) stamp(t Tamper) (ts, nonce string) {
	at := t.Timestamp
	if at.IsZero() {
		at = p.now()
	}
	if t.Nonce != "" {
		return strconv.FormatInt(at.Unix(), 10), t.Nonce
	}
	var n [4]byte
	_, _ = rand.Read(n[:])
	return strconv.FormatInt(at.Unix(), 10), strconv.FormatUint(uint64(binary.BigEndian.Uint32(n[:])), 10)
}

// Request builds the POST WeChat sends for m.
func (p *Pusher) Request(ctx context.Context, m PushMessage, mode Mode, t Tamper) (*http.Request, error) {
	ts, nonce := p.stamp(t)
	sig := sign(p.Token, ts, nonce)
	if t.BadSignature {
		sig = spoil(sig)
	}
	q := url.Values{"signature": {sig}, "timestamp": {ts}, "nonce": {nonce}, "openid": {m.FromUserName}}
	body := m.XML()
	if mode != Plain {
		appID := p.AppID
		if t.AppID != "" {
			appID = t.AppID
		}
		inner := body
		if t.Inner != nil {
			inner = t.Inner
		}
		enc, err := encrypt(p.EncodingAESKey, appID, inner, t.BadPadding)
		if err != nil {
			return nil, err
		}
		msgSig := sign(p.Token, ts, nonce, enc)
		if t.BadMsgSignature {
			msgSig = spoil(msgSig)
		}
		q.Set("encrypt_type", "aes")
		q.Set("msg_signature", msgSig)
		if mode == Safe {
			body = []byte("<xml>\n    <ToUserName><![CDATA[" + m.ToUserName + "]]></ToUserName>\n    <Encrypt><![CDATA[" + enc + "]]></Encrypt>\n</xml>")
		} else {
			body = bytes.Replace(body, []byte("</xml>"), []byte("<Encrypt><![CDATA["+enc+"]]></Encrypt></xml>"), 1)
		}
	}
	if t.Body != nil {
		body = t.Body
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.URL+"?"+q.Encode(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "text/xml")
	req.Header.Set("User-Agent", "Mozilla/4.0")
	return req, nil
}

// sign is hex(sha1(sorted parts joined)).
func sign(parts ...string) string {
	sort.Strings(parts)
	h := sha1.New()
	for _, s := range parts {
		io.WriteString(h, s)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func spoil(sig string) string {
	if strings.HasPrefix(sig, "0") {
		return "1" + sig[1:]
	}
	return "0" + sig[1:]
}

// encrypt is WeChat's message encryption: random(16) ‖ uint32 BE length ‖
// msg ‖ appid, PKCS#7-padded to 32 bytes, AES-256-CBC with IV key[:16],
// base64.
func encrypt(encodingAESKey, appID string, msg []byte, badPadding bool) (string, error) {
	key, err := base64.StdEncoding.DecodeString(encodingAESKey + "=")
	if err != nil || len(key) != 32 {
		return "", fmt.Errorf("bad EncodingAESKey")
	}
	plain := make([]byte, 20, 20+len(msg)+len(appID)+32)
	if _, err := rand.Read(plain[:16]); err != nil {
		return "", err
	}
	binary.BigEndian.PutUint32(plain[16:20], uint32(len(msg)))
	plain = append(plain, msg...)
	plain = append(plain, appID...)
	pad := 32 - len(plain)%32
	for range pad {
		plain = append(plain, byte(pad))
	}
	if badPadding {
		plain[len(plain)-1] = 0xff
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return "", err
	}
	out := make([]byte, len(plain))
	cipher.NewCBCEncrypter(block, key[:16]).CryptBlocks(out, plain)
	return base64.StdEncoding.EncodeToString(out), nil
}

// NewAESKey returns a random EncodingAESKey (43 characters).
func NewAESKey() string {
	var k [32]byte
	_, _ = rand.Read(k[:])
	return strings.TrimSuffix(base64.StdEncoding.EncodeToString(k[:]), "=")
}
