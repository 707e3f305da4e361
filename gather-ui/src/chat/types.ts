// The chat collections' records and the chat routes' answers, as the pages use them.
import type { RecordModel } from "pocketbase";

export const COLLECTIONS = {
  members: "chat_members",
  channels: "chat_channels",
  channelMembers: "chat_channel_members",
  messages: "chat_messages",
  reactions: "chat_reactions",
  invites: "chat_invites",
} as const;

export interface Workspace extends RecordModel {
  name: string;
  slug: string;
  description: string;
}

export interface Member extends RecordModel {
  workspace: string;
  kind: "human" | "agent";
  role: "owner" | "admin" | "member";
  name: string;
  user: string;
  agent: string;
  last_seen: string;
}

export interface Channel extends RecordModel {
  workspace: string;
  name: string;
  kind: "public" | "private" | "direct";
  topic: string;
}

export interface Message extends RecordModel {
  channel: string;
  workspace: string;
  seq: number;
  author: string;
  author_kind: "human" | "agent";
  author_name: string;
  text: string;
  reply_to: string;
  mentions: string[];
  attachments: string[];
  edited: string;
}

export interface Reaction extends RecordModel {
  message: string;
  member: string;
  emoji: string;
}

export const REACTIONS = ["👍", "🎉", "❤️", "😄", "👀", "🚀"];

/** Where a channel's page is. */
export const channelHref = (ws: string, channel: string) => `/app/${ws}/${channel}`;
