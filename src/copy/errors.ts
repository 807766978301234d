/** Errors of `copy` (stable codes, in the categories of `../errors.ts`). */
import { ErrorCategory, MoteError } from '../errors.js';

/** A local source (`oci:`, `oci-archive:`) that holds no such image, or names it ambiguously. */
export class InvalidCopySourceError extends MoteError {
  readonly source: string;
  constructor(source: string, reason: string) {
    super('ERR_INVALID_COPY_SOURCE', `copy source ${JSON.stringify(source).slice(0, 300)}: ${reason}`, { category: ErrorCategory.Invalid });
    this.source = source;
  }
}

/**
 * A copy that would rewrite a signed image (its manifest's digest would change, so its signature would name a
 * manifest the destination does not have) without `removeSignatures`.
 */
export class SignedImageError extends MoteError {
  readonly digest: string;
  constructor(digest: string, signature: string) {
    super('ERR_SIGNED_IMAGE', `${digest} is signed (${signature}): recompressing it would invalidate the signature; copy with removeSignatures (--remove-signatures) to drop it`, {
      category: ErrorCategory.Invalid,
    });
    this.digest = digest;
  }
}
