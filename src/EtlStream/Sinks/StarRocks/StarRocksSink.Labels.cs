using System.Diagnostics;

namespace EtlStream.Sinks.StarRocks;

/// <summary>Label resolution: <c>get_load_state</c> decides whether a load whose outcome is unknown committed.</summary>
public sealed partial class StarRocksSink
{
    /// <summary>Asks <c>get_load_state</c> (polling while the label runs) whether a load under the label committed.</summary>
    private async Task<StreamLoadDecision> ResolveLabelAsync(string label, bool running, CancellationToken cancellationToken)
    {
        var waited = Stopwatch.StartNew();
        while (true)
        {
            var decision = StreamLoadClassifier.ClassifyLabelState(await LabelStateAsync(label, cancellationToken).ConfigureAwait(false));
            if (decision != StreamLoadDecision.PollLabel)
            {
                // Unknown (no answer): re-sending under the same label is still safe, the server refuses a second commit.
                return decision == StreamLoadDecision.Unknown && running ? StreamLoadDecision.Retry : decision;
            }

            if (waited.Elapsed > _options.PollLimit)
            {
                return StreamLoadDecision.Retry;
            }

            await Task.Delay(_options.PollInterval, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<string?> LabelStateAsync(string label, CancellationToken cancellationToken)
    {
        var reply = await _client.SendAsync(HttpMethod.Get, $"/api/{_options.Database}/get_load_state?label={Uri.EscapeDataString(label)}", [], null, toBackend: false, "asking a label's state", cancellationToken).ConfigureAwait(false);
        return reply.Status == 200 ? StreamLoadResponse.TryParse(reply.Body)?.LabelState : null;
    }
}
