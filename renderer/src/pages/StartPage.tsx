// The start page: create a project folder, open an existing one, or reopen
// a recent project. Once one is open, StartRoute moves on to the page the
// user asked for (a deep link followed before opening) or the first page.
// A recent project whose folder is gone is marked so and can be removed.
import { useState, type FormEvent } from 'react';
import { Navigate, useLocation, type Path } from 'react-router';
import { useCreateProject, useOpenProject, useRemoveRecent } from '../query/mutations';
import { useProjectInfo, useRecentProjects } from '../query/queries';
import { HOME_PATH } from './project-pages';

/** The location ProjectLayout sent the user away from, if any. */
function requestedPath(state: unknown): Partial<Path> | undefined {
  const from = (state as { from?: Partial<Path> } | null)?.from;
  return typeof from?.pathname === 'string' && from.pathname !== '/'
    ? { pathname: from.pathname, search: from.search ?? '' }
    : undefined;
}

export function StartRoute() {
  const info = useProjectInfo();
  const location = useLocation();
  if (info.data === undefined) return <p role="status">{info.isError ? 'Cannot reach the engine.' : 'Connecting…'}</p>;
  if (info.data.project !== null) return <Navigate to={requestedPath(location.state) ?? HOME_PATH} replace />;
  return <StartPage />;
}

function StartPage() {
  const recent = useRecentProjects();
  const createProject = useCreateProject();
  const openProject = useOpenProject();
  const removeRecent = useRemoveRecent();
  const [newDir, setNewDir] = useState('');
  const [newName, setNewName] = useState('');
  const [openDir, setOpenDir] = useState('');
  const busy = createProject.isPending || openProject.isPending;

  const create = (e: FormEvent) => {
    e.preventDefault();
    createProject.mutate({ dir: newDir.trim(), ...(newName.trim() ? { name: newName.trim() } : {}) });
  };
  const projects = recent.data?.projects ?? [];

  return (
    <main className="start">
      <h1>MIA-DPO Studio</h1>
      <div className="start-columns">
        <form className="card form" onSubmit={create} aria-labelledby="create-title">
          <h2 id="create-title">Create project</h2>
          <label>
            New project folder
            <input
              value={newDir}
              onChange={(e) => setNewDir(e.target.value)}
              required
              placeholder="/home/me/projects/llava-mia"
            />
          </label>
          <label>
            Project name
            <input value={newName} onChange={(e) => setNewName(e.target.value)} placeholder="optional" />
          </label>
          <button type="submit" disabled={busy}>
            Create project
          </button>
        </form>
        <form
          className="card form"
          aria-labelledby="open-title"
          onSubmit={(e) => {
            e.preventDefault();
            openProject.mutate(openDir.trim());
          }}
        >
          <h2 id="open-title">Open project</h2>
          <label>
            Existing project folder
            <input value={openDir} onChange={(e) => setOpenDir(e.target.value)} required />
          </label>
          <button type="submit" disabled={busy}>
            Open project
          </button>
        </form>
      </div>
      <section className="card" aria-labelledby="recent-title">
        <h2 id="recent-title">Recent projects</h2>
        {projects.length === 0 ? (
          <p className="muted">None yet.</p>
        ) : (
          <ul className="recent">
            {projects.map((p) => (
              <li key={p.dir}>
                <button
                  type="button"
                  className="link"
                  disabled={busy || p.missing}
                  onClick={() => openProject.mutate(p.dir)}
                >
                  {p.name}
                </button>
                <span className="muted path">{p.dir}</span>
                {p.missing && <span className="error-text">folder not found</span>}
                <button
                  type="button"
                  disabled={removeRecent.isPending}
                  onClick={() => removeRecent.mutate(p.dir)}
                  aria-label={`Remove ${p.name} from recent projects`}
                >
                  Remove
                </button>
              </li>
            ))}
          </ul>
        )}
      </section>
    </main>
  );
}
