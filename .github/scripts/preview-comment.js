// The preview environment's one PR comment: found by its marker (the body's first line, as
// `python -m tools.preview comment` writes it) and updated, or created the first time.
// Used by preview-env.yml through actions/github-script.
module.exports = async ({ github, context, number, path }) => {
  const fs = require('fs');
  const body = fs.readFileSync(path, 'utf8');
  const marker = body.split('\n', 1)[0];
  if (!marker.startsWith('<!--')) throw new Error(`${path} does not start with its marker`);
  const { owner, repo } = context.repo;
  const comments = await github.paginate(github.rest.issues.listComments,
    { owner, repo, issue_number: number });
  const mine = comments.find(c => c.user.type === 'Bot' && c.body.startsWith(marker));
  if (mine) {
    await github.rest.issues.updateComment({ owner, repo, comment_id: mine.id, body });
  } else {
    await github.rest.issues.createComment({ owner, repo, issue_number: number, body });
  }
};
