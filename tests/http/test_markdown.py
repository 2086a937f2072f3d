"""Model outputs render as written (issue 14, part 4): one GitHub-flavoured
Markdown renderer on the server, for instructions and for the prompt,
messages and responses of a task (?html=1)."""
from harness import Server, make_job

GFM = """Intro with a [link](https://example.org/a?b=1) and https://auto.example.org too.

| model | score |
|:------|------:|
| a     | **3** |

> quoted *line*

1. one
   - nested bullet
     - deeper
2. two

3. three

```python
print("a very long line that must scroll inside its block and never widen the page: " * 3)
```

- [x] done
- [ ] open

~~gone~~ <script>alert(1)</script> <b onclick="x()">bold?</b>

[bad](javascript:alert(1))

مرحبا بالعالم، هذا نص عربي مع كلمة English في الوسط.
"""


def test_a_task_renders_gfm_safely_with_directions_and_code_languages():
    s = Server(users=("admin", "lead", "lab"))
    lead, lab = s.client("lead"), s.client("lab")
    jid = make_job(s, lead, items=0, members=("lab",), open_job=False)
    line = {"id": "md", "prompt": "Rate **this**:\n\n- a\n- b",
            "responses": [{"id": "a", "text": GFM}, {"id": "b", "text": "<img src=x onerror=alert(1)>"}]}
    assert lead.jsonl(f"/api/v1/jobs/{jid}/items", [line])[0] == 201
    assert lead.patch(f"/api/v1/jobs/{jid}", {"status": "open"})[0] == 200
    # Without ?html=1 the task is as before: text only.
    st, _, plain = lab.post(f"/api/v1/jobs/{jid}/tasks/next")
    assert st == 200 and "html" not in plain["task"]["item"]["responses"][0]
    st, _, body = lab.post(f"/api/v1/jobs/{jid}/tasks/next?html=1")
    assert st == 200, body
    item = body["task"]["item"]
    assert item["prompt_html"] == '<p dir="auto">Rate <strong>this</strong>:</p>\n<ul dir="auto">\n<li dir="auto">a</li>\n<li dir="auto">b</li>\n</ul>\n'
    html = {r["id"]: r["html"] for r in item["responses"]}
    a = html["a"]
    assert '<a rel="noopener noreferrer" href="https://example.org/a?b=1">link</a>' in a
    assert '<a rel="noopener noreferrer" href="https://auto.example.org">' in a  # autolink
    assert '<table>' in a and '<th dir="auto" align="left">model</th>' in a
    assert '<td dir="auto" align="right"><strong>3</strong></td>' in a
    assert '<blockquote dir="auto">' in a
    assert '<ol dir="auto">' in a and '<li dir="auto">nested bullet\n<ul dir="auto">' in a
    assert '<pre lang="python"><code>' in a and 'dir="auto" lang' not in a
    assert '<input type="checkbox" checked="" disabled="" /> done' in a
    assert '<del>gone</del>' in a
    # Raw HTML is shown as the text the model wrote, never as markup.
    assert '<script' not in a and '<b ' not in a and 'javascript:' not in a
    assert '&lt;script&gt;alert(1)&lt;/script&gt; &lt;b onclick=&quot;x()&quot;&gt;bold?&lt;/b&gt;' in a
    assert '<a rel="noopener noreferrer" href="">bad</a>' in a
    assert '<p dir="auto">مرحبا بالعالم' in a
    assert html["b"] == '<p dir="auto">&lt;img src=x onerror=alert(1)&gt;</p>\n'
    # GET of the task renders the same way; the instructions too.
    st, _, again = lab.get(f"/api/v1/tasks/{body['task']['id']}?html=1")
    assert st == 200 and again["task"]["item"]["responses"] == item["responses"]
    assert lead.patch(f"/api/v1/jobs/{jid}", {"instructions": "| a | b |\n|---|---|\n| 1 | 2 |\n\n<iframe></iframe>"})[0] == 200
    ins = lab.get(f"/api/v1/jobs/{jid}")[2]["job"]["instructions_html"]
    assert "<table>" in ins and "<iframe" not in ins and "&lt;iframe&gt;" in ins
