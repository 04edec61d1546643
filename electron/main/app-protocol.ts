// The app:// protocol, as a fetch-style handler without Electron: app://app/...
// serves the built renderer (HTML with the CSP header), app://images/<id>?size=N
// thumbnails of images the open project knows, app://images/composite/<id>
// the composites of its augmented samples and app://images/seen/<generationId>/<index>
// the images its perturbed generations' model saw, by id only. Nothing else is reachable.
import { toAppError } from '../../shared/errors';
import { loadImage, parseImageTarget, type ImageSources } from '../service/http/image-params';
import { statusOfKind } from '../service/http/status';
import { readStatic } from '../service/http/static-files';
import { APP_HOST, APP_SCHEME, IMAGES_HOST } from '../common/app-channels';

export interface AppProtocolOptions {
  rendererDir: string;
  images: ImageSources;
  csp: string;
}

const COMMON_HEADERS = { 'X-Content-Type-Options': 'nosniff' };

function textResponse(status: number, text: string): Response {
  return new Response(text, { status, headers: { ...COMMON_HEADERS, 'Content-Type': 'text/plain; charset=utf-8' } });
}

async function serveImage(url: URL, sources: ImageSources): Promise<Response> {
  const target = parseImageTarget(url.pathname.slice(1), url.searchParams.get('size'));
  if (typeof target === 'string') return textResponse(400, target);
  try {
    const image = await loadImage(target, sources);
    return new Response(new Uint8Array(image.body), {
      status: 200,
      headers: { ...COMMON_HEADERS, 'Content-Type': image.mime, 'Cache-Control': 'no-store' },
    });
  } catch (e) {
    const error = toAppError(e);
    return textResponse(statusOfKind(error.kind), `${error.kind}: ${error.message}`);
  }
}

async function serveApp(url: URL, options: AppProtocolOptions): Promise<Response> {
  const file = await readStatic(options.rendererDir, url.pathname);
  if (file === undefined) return textResponse(404, `not found: ${url.pathname}`);
  const headers: Record<string, string> = { ...COMMON_HEADERS, 'Content-Type': file.contentType };
  if (file.contentType.startsWith('text/html')) headers['Content-Security-Policy'] = options.csp;
  return new Response(new Uint8Array(file.body), { status: 200, headers });
}

export function createAppProtocolHandler(options: AppProtocolOptions): (request: Request) => Promise<Response> {
  return async (request) => {
    if (request.method !== 'GET' && request.method !== 'HEAD')
      return textResponse(405, `${request.method} is not allowed`);
    let url: URL;
    try {
      url = new URL(request.url);
    } catch {
      return textResponse(400, 'malformed URL');
    }
    if (url.protocol !== `${APP_SCHEME}:`) return textResponse(404, 'not an app:// URL');
    if (url.host === APP_HOST) return serveApp(url, options);
    if (url.host === IMAGES_HOST) return serveImage(url, options.images);
    return textResponse(404, `unknown app:// host ${url.host}`);
  };
}
