import { subgraphCodegen } from '../../codegen.preset';

export default subgraphCodegen('support', {
  Ticket: '../models/ticket#TicketRecord',
  TicketSla: '../models/ticket#SlaVisitRecord',
  TicketHistoryEntry: '../models/ticket#HistoryRecord',
  TicketComment: '../models/ticket#CommentRecord',
  TicketWork: '../models/ticket#WorkRecord',
  TicketResolution: '../models/ticket#ResolutionRecord',
  KnowledgeArticle: '../models/article#ArticleRecord',
  SupportMetrics: '../domain/metrics#SupportMetricsResult',
  SupportTierMetrics: '../domain/metrics#TierMetrics',
  Agent: '../resolvers/Ticket#EntityRef',
  Trial: '../resolvers/Ticket#EntityRef',
  Task: '../resolvers/Ticket#EntityRef',
});
