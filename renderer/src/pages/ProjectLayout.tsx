// The frame of an open project: its name and counts, the navigation between
// its pages (a `nav` landmark) and the page itself. Without an open project
// it sends the user to the start page, remembering where they wanted to go.
import { useEffect } from 'react';
import { NavLink, Navigate, Outlet, useLocation, useNavigate } from 'react-router';
import { formatCount } from '../lib/format';
import { useCloseProject } from '../query/mutations';
import { useProjectInfo } from '../query/queries';
import { PROJECT_PAGES } from './project-pages';

/** Alt+1..9 opens the project's page of that number (keyboard first: no pointer needed to change pages). */
function usePageKeys(): void {
  const navigate = useNavigate();
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (!e.altKey || e.ctrlKey || e.metaKey || e.shiftKey) return;
      const n = Number(e.code.replace(/^Digit/, ''));
      const page = Number.isInteger(n) && n >= 1 ? PROJECT_PAGES[n - 1] : undefined;
      if (page === undefined) return;
      e.preventDefault();
      void navigate(`/${page.path}`);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [navigate]);
}

export function ProjectLayout() {
  const info = useProjectInfo();
  const location = useLocation();
  const close = useCloseProject();
  usePageKeys();
  if (info.data === undefined) return <p role="status">{info.isError ? 'Cannot reach the engine.' : 'Connecting…'}</p>;
  const { project } = info.data;
  if (project === null) return <Navigate to="/" replace state={{ from: location }} />;
  return (
    <div className="project">
      <header className="topbar">
        <h1 title={project.dir}>{project.name}</h1>
        <span className="muted">
          {formatCount(project.sampleCount)} samples · {formatCount(project.imageCount)} images ·{' '}
          {formatCount(project.problemCount)} problems
          {project.readOnly ? ' · read-only (damaged database)' : ''}
        </span>
        <nav aria-label="Pages" className="pages-nav">
          {PROJECT_PAGES.map((p, i) => (
            <NavLink key={p.path} to={`/${p.path}`} title={i < 9 ? `${p.label} (Alt+${i + 1})` : p.label}>
              {p.label}
            </NavLink>
          ))}
        </nav>
        <div className="topbar-actions">
          <button type="button" disabled={close.isPending} onClick={() => close.mutate()}>
            Close project
          </button>
        </div>
      </header>
      <main className="page">
        <Outlet />
      </main>
    </div>
  );
}
