import { subgraphCodegen } from '../../codegen.preset';

export default subgraphCodegen('orchestration', {
  Task: '../models/task#TaskRecord',
  Workflow: '../models/workflow#WorkflowRecord',
  Saga: '../models/saga#SagaRecord',
  Agent: '../resolvers/Agent#AgentRef',
  TaskAttempt: '../models/task#AttemptRecord',
  WorkflowNode: '../models/workflow#WorkflowNodeRecord',
});
