/**
 * Synthesizes every example app to YAML under dist/examples/ (one file per chart): `npm run synth`.
 */
import { App, YamlOutputType } from 'cdk8s';
import { ChatOpsBot } from './chatops-bot';
import { ControllerInstall } from './controller';
import { CodeReviewAgent } from './code-review-agent';
import { OnCallAssistant } from './on-call-assistant';
import { ScheduledScan } from './scheduled-scan';
import { TeamCodingAssistant } from './team-coding-assistant';
import { TeamTemplates } from './team-templates';

export function buildExamples(outdir = 'dist/examples'): App {
  const app = new App({ outdir, outputFileExtension: '.k8s.yaml', yamlOutputType: YamlOutputType.FILE_PER_CHART });
  new ControllerInstall(app, 'controller');
  new TeamCodingAssistant(app, 'team-coding-assistant');
  new ChatOpsBot(app, 'chatops-bot');
  new CodeReviewAgent(app, 'code-review-agent');
  new OnCallAssistant(app, 'on-call-assistant');
  new TeamTemplates(app, 'team-templates');
  new ScheduledScan(app, 'scheduled-scan');
  return app;
}

if (require.main === module) {
  const app = buildExamples(process.argv[2]);
  app.synth();
  console.log(`synthesized ${app.charts.length} example charts to ${app.outdir}/`);
}
