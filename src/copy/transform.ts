/** Placeholder: compression variants come next. */
import type { StoredImage } from './image.js';
import type { ResolvedCopyOptions } from './options.js';
import type { CopySession } from './session.js';
import type { CopyEndpoint } from './transports.js';

export async function transformImage(_s: CopySession, image: StoredImage, _src: CopyEndpoint, _o: ResolvedCopyOptions): Promise<StoredImage> {
  return image;
}
