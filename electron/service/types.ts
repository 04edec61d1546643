// What the engine side offers every transport (Electron IPC, the local web
// server, the CLI): the command handlers, the event stream, and thumbnails
// and composites and perturbed images for the image routes. Created by `createService` in ./service.
import type { ApiHandlers, EventSource, ProjectInfo, ThumbnailSize } from '../../shared/api';

export interface Thumbnail {
  /** A cached JPEG/PNG file under the project's cache/thumbs/. */
  path: string;
  mime: 'image/jpeg' | 'image/png';
}

/** A grid or pic-in-pic composite under the project's cache/composites/. */
export interface CompositeImage {
  path: string;
  mime: 'image/png';
}

/** An image a perturbed generation's model saw, rendered once under the project's cache/seen/. */
export interface SeenImageFile {
  path: string;
  mime: 'image/png';
}

export interface Service extends EventSource {
  handlers: ApiHandlers;
  /**
   * Makes (once) and returns the cached thumbnail of an image the open project
   * knows. Unknown id or no open project: AppError 'not-found'; size outside
   * THUMBNAIL_SIZES: 'bad-input'.
   */
  getThumbnail(imageId: number, size: number): Promise<Thumbnail>;
  /** The composite image of an augmented sample, by its id. Unknown id, a sequence sample or no open project: 'not-found'. */
  getComposite(augmentedId: number): Promise<CompositeImage>;
  /** Image `index` of a perturbed generation as its model saw it. Unknown or unperturbed generation, index out of range or no open project: 'not-found'. */
  getSeen(generationId: number, index: number): Promise<SeenImageFile>;
  /**
   * Opens a project to read beside the process that holds it (serve, the app):
   * no lock, no job runs, every write refused. For the CLI's read-only commands;
   * not in the recent list.
   */
  openReadOnly(dir: string): Promise<ProjectInfo>;
  /** Stops running jobs at their next unit boundary and closes the project. */
  close(): Promise<void>;
}

export interface ServiceOptions {
  /** Where the recent-projects list lives (default ~/.config/mia-dpo-studio). */
  configDir?: string;
  /** Open this project at start. */
  projectDir?: string;
}

export type { ThumbnailSize };
