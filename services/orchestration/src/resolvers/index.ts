import { DateTimeResolver, JSONResolver } from 'graphql-scalars';
import type { Resolvers } from '../__generated__/resolvers-types';
import type { TaskModel } from '../models/task';
import type { InstanceReplica } from '../replica';
import { agentResolvers } from './Agent';
import { agentPerformanceResolvers } from './AgentPerformance';
import { mutationResolvers } from './Mutation';
import { queryResolvers } from './Query';
import {
  sagaResolvers,
  taskAttemptResolvers,
  taskResolvers,
  workflowNodeResolvers,
  workflowResolvers,
} from './Task';

export function createResolvers(tasks: TaskModel, replica: InstanceReplica): Resolvers {
  return {
    DateTime: DateTimeResolver,
    JSON: JSONResolver,
    Query: queryResolvers(tasks, replica),
    Mutation: mutationResolvers,
    Agent: agentResolvers(tasks),
    AgentPerformance: agentPerformanceResolvers(tasks),
    Task: taskResolvers,
    TaskAttempt: taskAttemptResolvers,
    Workflow: workflowResolvers,
    WorkflowNode: workflowNodeResolvers,
    Saga: sagaResolvers,
  };
}
