package wechatpush

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"testing"
)

// The sample of Tencent's WXBizMsgCrypt libraries: a message encrypted by
// WeChat, with its msg_signature.
const (
	sampleToken  = "QDG6eK"
	sampleAppID  = "wx5823bf96d3bd56c7"
	sampleAESKey = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
	sampleSig    = "477715d11cdb4164915debcba66cb864d751f3e6"
	sampleTS     = "1409659813"
	sampleNonce  = "1372623149"
	sampleEnc    = "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q=="
)

func TestTencentSample(t *testing.T) {
	if got := Signature(sampleToken, sampleTS, sampleNonce, sampleEnc); !SignatureOK(sampleSig, got) {
		t.Fatalf("msg_signature %s, want %s", got, sampleSig)
	}
	key, err := AESKey(sampleAESKey)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := Decrypt(key, sampleAppID, sampleEnc)
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseXML(msg)
	if err != nil {
		t.Fatal(err)
	}
	if m.Content != "hello" || m.MsgID != "4561255354251345929" || m.FromUserName != "mycreate" || m.MsgType != "text" {
		t.Errorf("decrypted %+v", m)
	}
	if _, err := Decrypt(key, "wx0000000000000000", sampleEnc); !errors.Is(err, ErrAppID) {
		t.Errorf("another appid: %v, want ErrAppID", err)
	}
}

func TestSignatureOK(t *testing.T) {
	want := Signature("token", "1", "2")
	if !SignatureOK(want, want) || !SignatureOK(string(bytes.ToUpper([]byte(want))), want) {
		t.Error("the right signature is refused")
	}
	if SignatureOK("", want) || SignatureOK(want[:39], want) || SignatureOK(want+"0", want) {
		t.Error("a wrong signature is accepted")
	}
}

// encrypt is a test-side encrypter: random ‖ length ‖ msg ‖ appid, padded
// with pad bytes of value padValue (the right one when 0).
func encrypt(t testing.TB, key []byte, random, msg []byte, appID string, padValue int) string {
	t.Helper()
	plain := append(append([]byte(nil), random[:16]...), 0, 0, 0, 0)
	binary.BigEndian.PutUint32(plain[16:], uint32(len(msg)))
	plain = append(append(plain, msg...), appID...)
	pad := 32 - len(plain)%32
	v := pad
	if padValue != 0 {
		v = padValue
	}
	for range pad {
		plain = append(plain, byte(v))
	}
	block, _ := aes.NewCipher(key)
	out := make([]byte, len(plain))
	cipher.NewCBCEncrypter(block, key[:16]).CryptBlocks(out, plain)
	return base64.StdEncoding.EncodeToString(out)
}

func TestDecryptErrors(t *testing.T) {
	key, _ := AESKey(sampleAESKey)
	random := []byte("0123456789abcdef")
	good := encrypt(t, key, random, []byte("<xml/>"), "wxapp", 0)
	if msg, err := Decrypt(key, "wxapp", good); err != nil || string(msg) != "<xml/>" {
		t.Fatalf("round trip: %q %v", msg, err)
	}
	for name, c := range map[string]struct {
		enc  string
		want error
	}{
		"not base64":        {"%%%", ErrCiphertext},
		"empty":             {"", ErrCiphertext},
		"not whole blocks":  {base64.StdEncoding.EncodeToString(make([]byte, 20)), ErrCiphertext},
		"pad value 0":       {encrypt(t, key, random, []byte("<xml/>"), "wxapp", 0x100), ErrPadding},
		"pad value 33":      {encrypt(t, key, random, []byte("<xml/>"), "wxapp", 33), ErrPadding},
		"inconsistent pad":  {encrypt(t, key, random, []byte("<xml/>"), "wxapp", 7), ErrPadding},
		"wrong appid":       {encrypt(t, key, random, []byte("<xml/>"), "wxother", 0), ErrAppID},
		"length past end":   {encrypt(t, key, random, nil, "", 0), nil},
		"garbage plaintext": {base64.StdEncoding.EncodeToString(make([]byte, 64)), ErrPadding},
	} {
		_, err := Decrypt(key, "wxapp", c.enc)
		if c.want == nil {
			if err == nil {
				// An empty message for an empty appid is well formed, but
				// not for "wxapp".
				t.Errorf("%s: accepted", name)
			}
			continue
		}
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
	if _, err := AESKey("short"); err == nil {
		t.Error("a short EncodingAESKey is accepted")
	}
}

// FuzzDecrypt: no ciphertext makes Decrypt panic, and what encrypts
// decrypts back.
func FuzzDecrypt(f *testing.F) {
	f.Add(sampleEnc, []byte("hello"), "wx5823bf96d3bd56c7")
	f.Add("", []byte(""), "")
	f.Add("AAAAAAAAAAAAAAAAAAAAAA==", []byte("<xml><Content>x</Content></xml>"), "wx")
	f.Add(base64.StdEncoding.EncodeToString(make([]byte, 32)), []byte{0xff, 0xfe}, "wxapp")
	key, _ := AESKey(sampleAESKey)
	f.Fuzz(func(t *testing.T, enc string, msg []byte, appID string) {
		if _, err := Decrypt(key, appID, enc); err != nil && !errors.Is(err, ErrCiphertext) && !errors.Is(err, ErrPadding) && !errors.Is(err, ErrLength) && !errors.Is(err, ErrAppID) {
			t.Fatalf("unexpected error %v", err)
		}
		if len(msg) > 1<<16 || len(appID) > 64 {
			return
		}
		got, err := Decrypt(key, appID, encrypt(t, key, []byte("fuzzfuzzfuzzfuzz"), msg, appID, 0))
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("round trip of %q for %q: %q %v", msg, appID, got, err)
		}
	})
}

func FuzzParseXML(f *testing.F) {
	f.Add([]byte(`<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[o1]]></FromUserName><CreateTime>1348831860</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[你好]]></Content><MsgId>1234567890123456</MsgId></xml>`))
	f.Add([]byte(`<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[o1]]></FromUserName><CreateTime>1</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe]]></Event></xml>`))
	f.Add([]byte(`<xml><ToUserName>gh</ToUserName><Encrypt><![CDATA[abc]]></Encrypt></xml>`))
	f.Add([]byte(`<xml><MsgType>link</MsgType><Title>t</Title><Url>http://x</Url><FromUserName>o</FromUserName><CreateTime>9</CreateTime><MsgId>a b</MsgId></xml>`))
	f.Add([]byte(`<!DOCTYPE xml [<!ENTITY e "x">]><xml>&e;</xml>`))
	f.Add([]byte(`<xml><FromUserName>o</FromUserName><CreateTime>1099511627775</CreateTime><MsgType>text</MsgType><Content>x</Content><MsgId>1</MsgId></xml>`))
	f.Add([]byte(`<xml><FromUserName>o</FromUserName><CreateTime>-1</CreateTime><MsgType>event</MsgType><Event>subscribe</Event></xml>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseXML(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		_ = m.DedupKey()
		p, err := m.Post()
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		if p == nil {
			return
		}
		if err := p.Validate(postLimits); err != nil || p.CreatedAt.IsZero() {
			t.Fatalf("accepted an invalid post %+v: %v", p, err)
		}
	})
}
