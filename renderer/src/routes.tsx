// The UI's routes, in the URL's hash (#/dataset?sample=12) so they work the
// same under Electron's app:// protocol and the web mode's /?token=... page,
// whose query string (the token) the hash leaves alone. Without an open
// project every route leads to the start page, which returns to the route
// asked for once a project is open; the project's pages are PROJECT_PAGES.
import { Navigate, createHashRouter, type RouteObject } from 'react-router';
import { PROJECT_PAGES } from './pages/project-pages';
import { ProjectLayout } from './pages/ProjectLayout';
import { StartRoute } from './pages/StartPage';

export const ROUTES: RouteObject[] = [
  { index: true, element: <StartRoute /> },
  { element: <ProjectLayout />, children: PROJECT_PAGES.map(({ path, element }) => ({ path, element })) },
  { path: '*', element: <Navigate to="/" replace /> },
];

export function createAppRouter() {
  return createHashRouter(ROUTES);
}
