import { PolicyPack } from "@pulumi/policy";
import { policies } from "./policies";

// Run with: pulumi preview --policy-pack policy
new PolicyPack("jitsi-stack", { policies, enforcementLevel: "mandatory" });
