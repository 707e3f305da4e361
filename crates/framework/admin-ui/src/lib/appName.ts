// The app's name, which the server puts into the page; the dashboard names no app itself.
const given = document.querySelector<HTMLMetaElement>('meta[name="app-name"]')?.content ?? "";

export const appName = given && given !== "%APP_NAME%" ? given : "Dashboard";

document.title = `${appName} · Dashboard`;
