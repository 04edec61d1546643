// The start page: create a project folder, open an existing one, or reopen
// a recent project.
import { useEffect, useState, type FormEvent } from 'react';
import type { ProjectInfo, RecentProject } from '../../../shared/api';
import { useApi, useReportError } from '../api-context';

export function StartPage({ onOpened }: { onOpened(project: ProjectInfo): void }) {
  const client = useApi();
  const report = useReportError();
  const [recent, setRecent] = useState<RecentProject[]>([]);
  const [newDir, setNewDir] = useState('');
  const [newName, setNewName] = useState('');
  const [openDir, setOpenDir] = useState('');
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    client.invoke('project.recent', {}).then((r) => setRecent(r.projects), report);
  }, [client, report]);

  const run = (work: Promise<ProjectInfo>) => {
    setBusy(true);
    work.then(onOpened, report).finally(() => setBusy(false));
  };
  const create = (e: FormEvent) => {
    e.preventDefault();
    run(client.invoke('project.create', { dir: newDir.trim(), ...(newName.trim() ? { name: newName.trim() } : {}) }));
  };
  const open = (dir: string) => run(client.invoke('project.open', { dir }));

  return (
    <main className="start">
      <h1>MIA-DPO Studio</h1>
      <div className="start-columns">
        <form className="card form" onSubmit={create} aria-labelledby="create-title">
          <h2 id="create-title">Create project</h2>
          <label>
            New project folder
            <input value={newDir} onChange={(e) => setNewDir(e.target.value)} required placeholder="/home/me/projects/llava-mia" />
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
            open(openDir.trim());
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
        {recent.length === 0 ? (
          <p className="muted">None yet.</p>
        ) : (
          <ul className="recent">
            {recent.map((p) => (
              <li key={p.dir}>
                <button type="button" className="link" disabled={busy} onClick={() => open(p.dir)}>
                  {p.name}
                </button>
                <span className="muted path">{p.dir}</span>
              </li>
            ))}
          </ul>
        )}
      </section>
    </main>
  );
}
