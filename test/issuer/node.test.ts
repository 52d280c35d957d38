import { issuerBehaviour } from "./behaviour";
import { hostileBehaviour } from "./hostile";
import { startNodeIssuer } from "./targets";

issuerBehaviour("Node server, npm run issuer", startNodeIssuer);
hostileBehaviour("Node server, npm run issuer", startNodeIssuer);
