package httpapi

import (
	"github.com/gin-gonic/gin"

	"github.com/calibd/calibd/devices"
)

// routes registers every endpoint. Keep this list the table of the API; the
// OpenAPI document must describe each one (a test checks).
func (s *Server) routes(e *gin.Engine) {
	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	e.GET("/metrics", gin.WrapH(s.prom))
	e.GET("/api/v1/openapi.json", s.openAPI)
	// Calendar feeds: the secret in the path is the credential.
	e.GET("/feeds/:file", s.serveFeed)
	// An external MQTT broker's auth and ACL hooks (BROKER_AUTH_TOKEN).
	e.POST("/broker/auth", s.brokerAuth)
	e.POST("/broker/acl", s.brokerACL)

	v1 := e.Group("/api/v1", s.authenticate)
	v1.GET("/me", s.me)
	v1.GET("/tolerance-profiles", s.listProfiles)
	v1.GET("/tolerance-profiles/:code", s.getProfile)

	v1.GET("/organizations", s.listOrganizations)
	v1.POST("/organizations", s.createOrganization)
	v1.GET("/organizations/:id", s.getOrganization)
	v1.PATCH("/organizations/:id", s.updateOrganization)
	v1.POST("/organizations/:id/retire", s.retireOrganization)
	v1.GET("/organizations/:id/tokens", s.listTokens)
	v1.POST("/organizations/:id/tokens", s.issueToken)
	v1.POST("/organizations/:id/tokens/:token_id/revoke", s.revokeToken)

	v1.GET("/venues", s.listVenues)
	v1.POST("/venues", s.createVenue)
	v1.GET("/venues/:id", s.getVenue)
	v1.PATCH("/venues/:id", s.updateVenue)
	v1.POST("/venues/:id/retire", s.retireVenue)
	v1.POST("/venues/:id/thermometers/import", s.importThermometers)
	v1.GET("/venues/:id/thermometers/export", s.exportThermometers)
	v1.POST("/venues/:id/elevators/import", s.importElevators)
	v1.GET("/venues/:id/elevators/export", s.exportElevators)

	v1.GET("/thermometers", s.listThermometers)
	v1.POST("/thermometers", s.createThermometer)
	v1.GET("/thermometers/:id", s.getThermometer)
	v1.PATCH("/thermometers/:id", s.updateThermometer)
	v1.POST("/thermometers/:id/retire", s.retireThermometer)

	// MQTT credentials of a thermometer or a lift (username = device id).
	v1.POST("/devices/:id/credentials", s.issueDeviceSecret)
	v1.GET("/devices/:id/credentials", s.getDeviceCredential)
	v1.POST("/devices/:id/credentials/revoke", s.revokeDeviceSecret)
	v1.GET("/devices/:id/readings", s.listReadings)
	v1.GET("/alerts", s.listAlerts)
	v1.GET("/alerts/:id", s.getAlert)
	v1.POST("/alerts/:id/acknowledge", s.actOnAlert(devices.AlertAcknowledge))
	v1.POST("/alerts/:id/resolve", s.actOnAlert(devices.AlertResolve))
	v1.GET("/devices/:id/readings/buckets", s.readingBuckets)
	v1.GET("/devices/:id/readings/export", s.exportReadings)
	v1.GET("/devices/:id/drift", s.getDrift)
	// What the ingest refused, and why (dead letters).
	v1.GET("/dead-letters", s.listDeadLetters)
	v1.GET("/devices/:id/dead-letters", s.deviceDeadLetters)

	v1.GET("/elevators", s.listElevators)
	v1.POST("/elevators", s.createElevator)
	v1.GET("/elevators/:id", s.getElevator)
	v1.PATCH("/elevators/:id", s.updateElevator)
	v1.POST("/elevators/:id/retire", s.retireElevator)

	v1.GET("/organizations/:id/calendar", s.getCalendar)
	v1.PUT("/organizations/:id/calendar", s.putCalendar)

	v1.GET("/visits", s.listVisits)
	v1.GET("/visits/:id", s.getVisit)
	v1.POST("/visits/:id/confirm", s.actOnVisit(devices.VisitConfirm))
	v1.POST("/visits/:id/start", s.actOnVisit(devices.VisitStart))
	v1.POST("/visits/:id/complete", s.actOnVisit(devices.VisitComplete))
	v1.POST("/visits/:id/cancel", s.actOnVisit(devices.VisitCancel))
	v1.POST("/visits/:id/technicians", s.assignTechnicians)

	v1.GET("/technicians", s.listTechnicians)
	v1.POST("/technicians", s.createTechnician)
	v1.GET("/technicians/:id", s.getTechnician)
	v1.PATCH("/technicians/:id", s.updateTechnician)
	v1.POST("/technicians/:id/retire", s.retireTechnician)

	v1.GET("/requests", s.listRequests)
	v1.POST("/requests", s.createRequest)
	v1.GET("/requests/:id", s.getRequest)
	v1.POST("/requests/:id/accept", s.actOnRequest(devices.RequestAccept))
	v1.POST("/requests/:id/propose", s.actOnRequest(devices.RequestPropose))
	v1.POST("/requests/:id/decline", s.actOnRequest(devices.RequestDecline))
	v1.POST("/requests/:id/accept-proposal", s.actOnRequest(devices.RequestAcceptProposal))
	v1.POST("/requests/:id/withdraw", s.actOnRequest(devices.RequestWithdraw))

	v1.GET("/standards", s.listStandards)
	v1.POST("/standards", s.createStandard)
	v1.GET("/standards/:id", s.getStandard)
	v1.POST("/standards/:id/flag-out-of-tolerance", s.flagStandard)

	v1.GET("/results", s.listResults)
	v1.POST("/results", s.recordResult)
	v1.GET("/results/:id", s.getResult)
	v1.POST("/results/:id/revisions", s.reviseResult)
	v1.GET("/results/:id/certificate", s.getCertificate)
	v1.GET("/results/:id/certificate.pdf", s.getCertificate)

	v1.GET("/maintenance/checklist", s.getChecklist)
	v1.GET("/contracts", s.listContracts)
	v1.POST("/contracts", s.createContract)
	v1.GET("/contracts/:id", s.getContract)
	v1.POST("/contracts/:id/end", s.endContract)
	v1.GET("/agreements", s.listAgreements)
	v1.POST("/agreements", s.proposeAgreement)
	v1.GET("/agreements/:id", s.getAgreement)
	v1.POST("/agreements/:id/accept", s.actOnAgreement(devices.AgreementAccept))
	v1.POST("/agreements/:id/reject", s.actOnAgreement(devices.AgreementReject))
	v1.POST("/agreements/:id/revoke", s.actOnAgreement(devices.AgreementRevoke))
	v1.GET("/lift-tasks", s.listLiftTasks)
	v1.GET("/lift-tasks/:id", s.getLiftTask)
	v1.GET("/lift-reports", s.listReports)
	v1.POST("/lift-reports", s.fileReport)
	v1.GET("/lift-reports/:id", s.getReport)
	v1.POST("/lift-reports/:id/countersign", s.countersignReport)

	v1.GET("/deferrals", s.listDeferrals)
	v1.POST("/deferrals", s.declareDeferral)
	v1.GET("/deferrals/:id", s.getDeferral)
	v1.POST("/deferrals/:id/lift", s.liftDeferral)

	v1.GET("/feeds", s.listFeeds)
	v1.POST("/feeds", s.createFeed)
	v1.POST("/feeds/:id/revoke", s.revokeFeed)

	v1.GET("/events", s.listEvents)
	v1.GET("/events/:id", s.getEvent)

	v1.GET("/tasks", s.listTasks)
	v1.GET("/tasks/:id", s.getTask)
	v1.POST("/tasks/:id/cancel", s.cancelTask)

	v1.GET("/scheduler/jobs", s.listJobs)
	v1.POST("/scheduler/jobs/:name/run", s.runJob)

	v1.GET("/audit", s.listAudit)
}
