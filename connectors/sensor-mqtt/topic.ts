/**
 * Level `n` of an MQTT topic (0 = the first, -1 = the last), undefined when the topic has no such level. Walks the
 * string instead of splitting it: it runs once per message.
 */
export function topicLevel(topic: string, n: number): string | undefined {
  if (n < 0) {
    let end = topic.length;
    for (let level = -1; ; level--) {
      const start = topic.lastIndexOf('/', end - 1) + 1;
      if (level === n) return topic.slice(start, end);
      if (start === 0) return undefined;
      end = start - 1;
    }
  }
  let start = 0;
  for (let level = 0; level < n; level++) {
    const slash = topic.indexOf('/', start);
    if (slash < 0) return undefined;
    start = slash + 1;
  }
  const end = topic.indexOf('/', start);
  return topic.slice(start, end < 0 ? topic.length : end);
}
