// Markdown from users (SKILL.md, chat) as HTML that cannot run anything: raw HTML in the
// text is shown as text, links are checked by markdown-it (no javascript: or data:),
// and images become links (pages load no outside images).
import MarkdownIt from "markdown-it";

type Highlight = (code: string, lang: string) => string;

/** A renderer; `highlight` colours fenced code (its output must be escaped HTML). */
export function renderer(highlight?: Highlight): (text: string) => string {
  const md = new MarkdownIt({ html: false, linkify: true, highlight });

  md.renderer.rules.link_open = (tokens, idx, options, _env, self) => {
    tokens[idx].attrSet("rel", "nofollow noopener noreferrer ugc");
    return self.renderToken(tokens, idx, options);
  };

  // The text sits under the page's own headings: its `#` is the page's third level.
  const shift = (tokens: { tag: string }[], idx: number) => {
    const t = tokens[idx];
    t.tag = `h${Math.min(6, Number(t.tag.slice(1)) + 2)}`;
  };
  md.renderer.rules.heading_open = (tokens, idx, options, _env, self) => {
    shift(tokens, idx);
    return self.renderToken(tokens, idx, options);
  };
  md.renderer.rules.heading_close = (tokens, idx, options, _env, self) => {
    shift(tokens, idx);
    return self.renderToken(tokens, idx, options);
  };

  md.renderer.rules.image = (tokens, idx) => {
    const t = tokens[idx];
    const src = md.utils.escapeHtml(String(t.attrGet("src") ?? ""));
    const alt = md.utils.escapeHtml(t.content || "image");
    return `<a href="${src}" rel="nofollow noopener noreferrer ugc">[${alt}]</a>`;
  };

  return (text: string) => md.render(text);
}

/** Safe HTML for `text`, without code colours. */
export const render = renderer();

/** A Markdown document's YAML front matter (`---` lines) and the text after it. */
export function splitFrontMatter(text: string): { meta: [string, string][]; body: string } {
  const m = /^---\r?\n([\s\S]*?)\r?\n---\r?\n?/.exec(text);
  if (!m) return { meta: [], body: text };
  const meta: [string, string][] = [];
  for (const line of m[1].split(/\r?\n/)) {
    const kv = /^([A-Za-z0-9_-]+):\s*(.*)$/.exec(line);
    if (kv) meta.push([kv[1], kv[2].replace(/^["']|["']$/g, "")]);
  }
  return { meta, body: text.slice(m[0].length) };
}
