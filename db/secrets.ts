// Secrets at rest (adapter tokens, provider keys, channel webhooks): AES-256-GCM with a
// key from SECRET_KEY. Ciphertext format "v1:<iv>:<tag>:<data>", base64 parts.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

export interface SecretBox {
  seal(plaintext: string): string;
  open(sealed: string): string;
}

/** Any non-empty SECRET_KEY string works; it is stretched to 32 bytes with SHA-256. */
export function createSecretBox(secretKey: string): SecretBox {
  if (!secretKey) throw new Error('SECRET_KEY is empty');
  const key = createHash('sha256').update(secretKey).digest();
  return {
    seal(plaintext) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return ['v1', iv.toString('base64'), cipher.getAuthTag().toString('base64'), data.toString('base64')].join(':');
    },
    open(sealed) {
      const [version, iv, tag, data] = sealed.split(':');
      if (version !== 'v1' || !iv || !tag || data === undefined) throw new Error('unrecognised secret format');
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64'));
      decipher.setAuthTag(Buffer.from(tag, 'base64'));
      try {
        return Buffer.concat([decipher.update(Buffer.from(data, 'base64')), decipher.final()]).toString('utf8');
      } catch {
        throw new Error('cannot decrypt a stored secret: SECRET_KEY differs from the one it was sealed with');
      }
    },
  };
}
