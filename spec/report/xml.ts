/**
 * A strict, small XML well-formedness checker for the specs (no dependency): enough of XML 1.0 to
 * decide whether an SVG file would open in a browser. It checks the Char production, names,
 * quoted attributes without duplicates, entity references, matching start and end tags, and a
 * single root element; it returns the element tree.
 *
 * Not covered (the SVGs here never use them): DOCTYPE, CDATA sections, processing instructions
 * other than the XML declaration.
 */

export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  /** The decoded text directly inside this element (all text nodes concatenated). */
  text: string;
}

const NAME = /^[A-Za-z_:][A-Za-z0-9_:.-]*/;
const PREDEFINED: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };

/** XML 1.0 Char: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]. */
function checkChars(text: string): void {
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    const ok = c === 0x9 || c === 0xa || c === 0xd || (c >= 0x20 && c <= 0xd7ff) || (c >= 0xe000 && c <= 0xfffd) ||
      (c >= 0x10000 && c <= 0x10ffff);
    if (!ok) throw new Error(`xml: character U+${c.toString(16).padStart(4, "0")} is not allowed in XML`);
  }
}

/** Replace entity references; throw on a bare '&' or an unknown entity. */
function decode(raw: string, where: string): string {
  return raw.replace(/&([^;&\s]*);?/g, (match, body: string) => {
    if (!match.endsWith(";")) throw new Error(`xml: bare '&' in ${where}`);
    if (body in PREDEFINED) return PREDEFINED[body];
    const numeric = /^#(?:x([0-9a-fA-F]+)|([0-9]+))$/.exec(body);
    if (numeric) return String.fromCodePoint(numeric[1] !== undefined ? parseInt(numeric[1], 16) : parseInt(numeric[2], 10));
    throw new Error(`xml: unknown entity '&${body};' in ${where}`);
  });
}

export function parseXml(text: string): XmlElement {
  checkChars(text);
  let i = 0;
  const stack: XmlElement[] = [];
  let root: XmlElement | null = null;
  const skipMisc = () => {
    for (;;) {
      while (i < text.length && /\s/.test(text[i])) i++;
      if (text.startsWith("<!--", i)) {
        const end = text.indexOf("-->", i + 4);
        if (end < 0) throw new Error("xml: unterminated comment");
        i = end + 3;
      } else return;
    }
  };
  if (text.startsWith("<?xml")) {
    const end = text.indexOf("?>");
    if (end < 0) throw new Error("xml: unterminated XML declaration");
    i = end + 2;
  }
  skipMisc();
  while (i < text.length) {
    if (stack.length === 0) {
      if (root !== null) throw new Error(`xml: content after the root element at offset ${i}`);
      if (text[i] !== "<") throw new Error(`xml: text outside the root element at offset ${i}`);
    }
    if (text.startsWith("<!--", i)) {
      const end = text.indexOf("-->", i + 4);
      if (end < 0) throw new Error("xml: unterminated comment");
      i = end + 3;
    } else if (text.startsWith("</", i)) {
      const name = NAME.exec(text.slice(i + 2))?.[0];
      if (!name) throw new Error(`xml: bad end tag at offset ${i}`);
      i += 2 + name.length;
      while (/\s/.test(text[i] ?? "")) i++;
      if (text[i] !== ">") throw new Error(`xml: end tag </${name} is not closed`);
      i++;
      const open = stack.pop();
      if (!open) throw new Error(`xml: end tag </${name}> without a start tag`);
      if (open.name !== name) throw new Error(`xml: <${open.name}> closed by </${name}>`);
      if (stack.length === 0) {
        root = open;
        skipMisc();
      }
    } else if (text[i] === "<") {
      const name = NAME.exec(text.slice(i + 1))?.[0];
      if (!name) throw new Error(`xml: bad start tag at offset ${i}`);
      i += 1 + name.length;
      const element: XmlElement = { name, attributes: {}, children: [], text: "" };
      for (;;) {
        const spaceStart = i;
        while (/\s/.test(text[i] ?? "")) i++;
        if (text.startsWith("/>", i) || text[i] === ">") break;
        if (i === spaceStart) throw new Error(`xml: attributes of <${name}> must be separated by white space (offset ${i})`);
        const attribute = NAME.exec(text.slice(i))?.[0];
        if (!attribute) throw new Error(`xml: bad attribute in <${name}> at offset ${i}`);
        i += attribute.length;
        while (/\s/.test(text[i] ?? "")) i++;
        if (text[i] !== "=") throw new Error(`xml: attribute ${attribute} of <${name}> has no value`);
        i++;
        while (/\s/.test(text[i] ?? "")) i++;
        const quote = text[i];
        if (quote !== '"' && quote !== "'") throw new Error(`xml: attribute ${attribute} of <${name}> is not quoted`);
        const end = text.indexOf(quote, i + 1);
        if (end < 0) throw new Error(`xml: unterminated value of ${attribute}`);
        const raw = text.slice(i + 1, end);
        if (raw.includes("<")) throw new Error(`xml: '<' in the value of ${attribute}`);
        if (attribute in element.attributes) throw new Error(`xml: duplicate attribute ${attribute} in <${name}>`);
        element.attributes[attribute] = decode(raw, `attribute ${attribute}`);
        i = end + 1;
      }
      if (stack.length > 0) stack[stack.length - 1].children.push(element);
      if (text.startsWith("/>", i)) {
        i += 2;
        if (stack.length === 0) {
          root = element;
          skipMisc();
        }
      } else {
        i += 1;
        stack.push(element);
      }
    } else {
      const end = text.indexOf("<", i);
      const raw = text.slice(i, end < 0 ? text.length : end);
      stack[stack.length - 1].text += decode(raw, `the text of <${stack[stack.length - 1].name}>`);
      i += raw.length;
    }
  }
  if (stack.length > 0) throw new Error(`xml: <${stack[stack.length - 1].name}> is never closed`);
  if (root === null) throw new Error("xml: no root element");
  return root;
}

/** Every element of the tree, depth first. */
export function allElements(root: XmlElement): XmlElement[] {
  return [root, ...root.children.flatMap(allElements)];
}

/** Parse and check the SVG root: <svg xmlns="http://www.w3.org/2000/svg"> with numeric width and height. */
export function parseSvg(text: string): XmlElement {
  const root = parseXml(text);
  if (root.name !== "svg") throw new Error(`svg: the root element is <${root.name}>, not <svg>`);
  if (root.attributes.xmlns !== "http://www.w3.org/2000/svg") throw new Error(`svg: xmlns is ${root.attributes.xmlns}`);
  for (const key of ["width", "height"]) {
    if (!(Number(root.attributes[key]) > 0)) throw new Error(`svg: ${key} is ${root.attributes[key]}`);
  }
  return root;
}
