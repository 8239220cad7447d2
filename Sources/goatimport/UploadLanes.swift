import GoatImportCore

/// One upload lane per site (its own queue, batches, uploader and rate-limit pacer), and the
/// sink the importer writes into: the lane's own with one site, a router with a site map.
struct UploadLanes {
    let sites: [String]
    let lanes: [UploadPipeline.Lane]
    let sink: FollowingSink

    /// `routed`: a site map is in use (even with one site, lines of other hosts are skipped).
    init(apis: [GoatCounterAPI], routed: Bool, batchSize: Int, noSessions: Bool, options: Uploader.Options,
         stop: StopSignal, onEvent: @escaping (Int, Uploader.Event) -> Void,
         onAcknowledged: @escaping (Int, Batch) throws -> Void) {
        var lanes: [UploadPipeline.Lane] = []
        var sinks: [BatchingSink] = []
        for (index, api) in apis.enumerated() {
            let queue = BatchQueue(capacity: 4)
            let uploader = Uploader(api: api, options: options, stop: stop) { onEvent(index, $0) }
            uploader.onAcknowledged = { try onAcknowledged(index, $0) }
            lanes.append(UploadPipeline.Lane(uploader: uploader, queue: queue))
            sinks.append(BatchingSink(queue: queue, batchSize: batchSize, noSessions: noSessions))
        }
        self.sites = apis.map(\.client.site.absoluteString)
        self.lanes = lanes
        sink = routed ? SiteRoutingSink(sinks: sinks) : sinks[0]
    }

    func cancelAll() { for lane in lanes { lane.queue.cancel() } }

    var total: UploadSummary {
        var total = UploadSummary()
        for lane in lanes { total.add(lane.uploader.summary) }
        return total
    }

    /// Per site, for the report when there are several.
    var perSite: [(site: String, summary: UploadSummary)] {
        zip(sites, lanes.map(\.uploader.summary)).map { ($0, $1) }
    }
}
