package wechatpush

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Decryption errors.
var (
	ErrCiphertext = errors.New("ciphertext is not base64 of whole AES blocks")
	ErrPadding    = errors.New("bad PKCS#7 padding")
	ErrLength     = errors.New("bad message length in the plaintext")
	ErrAppID      = errors.New("appid in the message does not match")
)

// padBlock is WeChat's PKCS#7 block: 32 bytes, not AES's 16.
const padBlock = 32

// AESKey decodes an EncodingAESKey: base64 of 32 bytes without its "=".
func AESKey(encodingAESKey string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(encodingAESKey + "=")
	if err != nil {
		return nil, fmt.Errorf("decoding EncodingAESKey: %w", err)
	}
	if len(key) != 32 {
		return nil, fmt.Errorf("EncodingAESKey decodes to %d bytes, not 32", len(key))
	}
	return key, nil
}

// Decrypt opens a safe-mode Encrypt field: AES-256-CBC with IV key[:16],
// PKCS#7 padding to 32 bytes, plaintext random(16) ‖ uint32 BE length ‖
// msg ‖ appid. The appid must equal appID (compared in constant time).
// Only call it after msg_signature was checked, so that nobody without the
// token can probe the padding.
func Decrypt(key []byte, appID, encrypted string) ([]byte, error) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(encrypted))
	if err != nil || len(raw) == 0 || len(raw)%aes.BlockSize != 0 {
		return nil, ErrCiphertext
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("creating AES cipher: %w", err)
	}
	plain := make([]byte, len(raw))
	cipher.NewCBCDecrypter(block, key[:aes.BlockSize]).CryptBlocks(plain, raw)
	pad := int(plain[len(plain)-1])
	if pad < 1 || pad > padBlock || pad > len(plain) {
		return nil, ErrPadding
	}
	for _, b := range plain[len(plain)-pad:] {
		if int(b) != pad {
			return nil, ErrPadding
		}
	}
	plain = plain[:len(plain)-pad]
	if len(plain) < 20 {
		return nil, ErrLength
	}
	n := binary.BigEndian.Uint32(plain[16:20])
	if uint64(n) > uint64(len(plain)-20) {
		return nil, ErrLength
	}
	msg, app := plain[20:20+n], plain[20+n:]
	if subtle.ConstantTimeCompare(app, []byte(appID)) != 1 {
		return nil, ErrAppID
	}
	return msg, nil
}

// Signature is WeChat's signature: hex(sha1(join(sorted(parts)))).
func Signature(parts ...string) string {
	s := append([]string(nil), parts...)
	sort.Strings(s)
	sum := sha1.Sum([]byte(strings.Join(s, "")))
	return hex.EncodeToString(sum[:])
}

// SignatureOK compares a received signature with the expected one in
// constant time (case-insensitively: it is hex).
func SignatureOK(got, want string) bool {
	return subtle.ConstantTimeCompare([]byte(strings.ToLower(got)), []byte(want)) == 1
}
