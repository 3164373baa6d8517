// GetResult and StreamTestSample: final weights and means, and the test sample regenerated
// from the seed, enough to recompute the job's numbers independently.
#include <gtest/gtest.h>

#include <cmath>

#include "child_server.h"
#include "server_test_util.h"

namespace sgdspectra::server_test {
namespace {

grpc::Status GetResult(v1::SgdSpectra::Stub* stub, const std::string& job_id,
                       bool include_test_sample, v1::JobResult* result) {
  grpc::ClientContext context;
  context.set_deadline(Deadline());
  v1::GetResultRequest request;
  request.set_job_id(job_id);
  request.set_include_test_sample(include_test_sample);
  return stub->GetResult(&context, request, result);
}

TEST(ResultTest, GetResultReturnsWeightsMeansAndATestSampleThatReproducesTheFinalMetrics) {
  InProcessServer server(TestDataDir());
  ASSERT_TRUE(server.ok());
  const StreamResult run = RunAll(server.stub(), TinySpec());
  ASSERT_TRUE(run.status.ok()) << run.status.error_message();
  const std::string& id = run.events[0].job_id();
  const v1::Finished& finished = run.events.back().finished();
  ASSERT_EQ(finished.state(), v1::SUCCEEDED);
  constexpr int k = 3, d = 40, m = 80;

  v1::JobResult result;
  const grpc::Status status = GetResult(server.stub(), id, /*include_test_sample=*/true, &result);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(result.job().job_id(), id);
  EXPECT_EQ(result.job().state(), v1::SUCCEEDED);
  ExpectSameMessage(result.finished(), finished, "finished");
  ASSERT_EQ(result.weights().rows(), k);
  ASSERT_EQ(result.weights().cols(), d);
  ASSERT_EQ(result.weights().values_size(), k * d);
  ASSERT_EQ(result.means().rows(), k);
  ASSERT_EQ(result.means().cols(), d);
  ASSERT_EQ(result.means().values_size(), k * d);
  ASSERT_EQ(result.test_inputs().rows(), m);
  ASSERT_EQ(result.test_inputs().cols(), d);
  ASSERT_EQ(result.test_inputs().values_size(), m * d);
  ASSERT_EQ(result.test_labels_size(), m);

  // Default means are orthonormal.
  auto row = [](const v1::Matrix& matrix, int r) {
    return matrix.values().data() + r * matrix.cols();
  };
  for (int a = 0; a < k; ++a) {
    for (int b = 0; b < k; ++b) {
      double dot = 0;
      for (int j = 0; j < d; ++j) dot += row(result.means(), a)[j] * row(result.means(), b)[j];
      EXPECT_NEAR(dot, a == b ? 1.0 : 0.0, 1e-12);
    }
  }
  // Each input is its class mean plus noise of variance 1 / snr = 0.02 per coordinate.
  double noise_power = 0;
  for (int i = 0; i < m; ++i) {
    const int label = result.test_labels(i);
    ASSERT_GE(label, 0);
    ASSERT_LT(label, k);
    for (int j = 0; j < d; ++j) {
      const double z = row(result.test_inputs(), i)[j] - row(result.means(), label)[j];
      noise_power += z * z;
    }
  }
  EXPECT_NEAR(noise_power / (m * d), 1.0 / 50, 0.005);

  // Independent recomputation: the data-fit test loss and accuracy of the final weights.
  double loss = 0;
  int correct = 0;
  for (int i = 0; i < m; ++i) {
    double logits[k];
    for (int c = 0; c < k; ++c) {
      logits[c] = 0;
      for (int j = 0; j < d; ++j)
        logits[c] += row(result.weights(), c)[j] * row(result.test_inputs(), i)[j];
    }
    double top = logits[0];
    int argmax = 0;
    for (int c = 1; c < k; ++c) {
      if (logits[c] > top) top = logits[c], argmax = c;
    }
    double sum = 0;
    for (int c = 0; c < k; ++c) sum += std::exp(logits[c] - top);
    loss += -(logits[result.test_labels(i)] - top - std::log(sum));
    correct += argmax == result.test_labels(i);
  }
  EXPECT_NEAR(loss / m, finished.final_test_loss(), 1e-9);
  EXPECT_DOUBLE_EQ(static_cast<double>(correct) / m, finished.final_test_accuracy());

  // Without the sample, none is sent.
  v1::JobResult light;
  ASSERT_TRUE(GetResult(server.stub(), id, false, &light).ok());
  EXPECT_EQ(light.test_inputs().values_size(), 0);
  ExpectSameMessage(light.weights(), result.weights(), "weights");

  // StreamTestSample gives the same rows, in chunks.
  grpc::ClientContext context;
  context.set_deadline(Deadline());
  v1::StreamTestSampleRequest request;
  request.set_job_id(id);
  request.set_rows_per_chunk(7);
  auto reader = server.stub()->StreamTestSample(&context, request);
  v1::TestSampleChunk chunk;
  std::vector<double> values;
  std::vector<int> labels;
  int chunks = 0;
  while (reader->Read(&chunk)) {
    EXPECT_EQ(chunk.first_row(), static_cast<int64_t>(labels.size()));
    EXPECT_EQ(chunk.total_rows(), m);
    EXPECT_EQ(chunk.cols(), d);
    EXPECT_LE(chunk.labels_size(), 7);
    values.insert(values.end(), chunk.values().begin(), chunk.values().end());
    labels.insert(labels.end(), chunk.labels().begin(), chunk.labels().end());
    ++chunks;
  }
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_EQ(chunks, (m + 6) / 7);
  EXPECT_EQ(values, std::vector<double>(result.test_inputs().values().begin(),
                                        result.test_inputs().values().end()));
  EXPECT_EQ(labels, std::vector<int>(result.test_labels().begin(), result.test_labels().end()));
}

TEST(ResultTest, ResultOfAnUnfinishedJobOrATooLargeSampleIsAFailedPrecondition) {
  InProcessServer server(TestDataDir());
  ASSERT_TRUE(server.ok());
  v1::Job job;
  ASSERT_TRUE(Submit(server.stub(), LongSpec(), &job).ok());
  v1::JobResult result;
  grpc::Status status = GetResult(server.stub(), job.job_id(), false, &result);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);

  // A cancelled job keeps the weights it reached.
  ASSERT_FALSE(ReadUntilRunning(server.stub(), job.job_id()).back().has_finished());
  grpc::ClientContext context;
  v1::CancelJobRequest cancel;
  cancel.set_job_id(job.job_id());
  ASSERT_TRUE(server.stub()->CancelJob(&context, cancel, &job).ok());
  EXPECT_EQ(WaitTerminal(server.stub(), job.job_id()).state(), v1::CANCELLED);
  status = GetResult(server.stub(), job.job_id(), false, &result);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(result.weights().values_size(), 3 * 40);

  server.Stop();
}

TEST(ResultTest, ASampleBeyondTheMessageLimitIsRefusedInlineAndStreamedInChunks) {
  constexpr int kLimit = 1 << 20;
  InProcessServer server(TestDataDir(), 1, 16, kLimit);
  ASSERT_TRUE(server.ok());
  v1::JobSpec spec = TinySpec();
  spec.mutable_kgmm()->set_dim(200);
  spec.mutable_analysis()->set_test_ratio(5);  // 1000 x 200 doubles = 1.6 MB > 1 MiB
  spec.mutable_sgd()->set_t_end(0.5);          // 100 steps
  spec.mutable_schedule()->set_every_steps(100);
  const StreamResult run = RunAll(server.stub(), spec);
  ASSERT_TRUE(run.status.ok()) << run.status.error_message();
  ASSERT_EQ(run.events.back().finished().state(), v1::SUCCEEDED);
  const std::string& id = run.events[0].job_id();

  v1::JobResult result;
  const grpc::Status status = GetResult(server.stub(), id, true, &result);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(status.error_message().find("StreamTestSample"), std::string::npos)
      << status.error_message();
  ASSERT_TRUE(GetResult(server.stub(), id, false, &result).ok());
  EXPECT_EQ(result.weights().values_size(), 3 * 200);

  grpc::ClientContext context;
  context.set_deadline(Deadline());
  v1::StreamTestSampleRequest request;
  request.set_job_id(id);  // rows_per_chunk 0: as many rows as fit 1 MiB
  auto reader = server.stub()->StreamTestSample(&context, request);
  v1::TestSampleChunk chunk;
  int64_t rows = 0;
  int chunks = 0;
  while (reader->Read(&chunk)) {
    EXPECT_EQ(chunk.first_row(), rows);
    EXPECT_EQ(chunk.values_size(), chunk.labels_size() * 200);
    EXPECT_LT(chunk.ByteSizeLong(), static_cast<size_t>(kLimit));
    rows += chunk.labels_size();
    ++chunks;
  }
  const grpc::Status finished = reader->Finish();
  ASSERT_TRUE(finished.ok()) << finished.error_message();
  EXPECT_EQ(rows, 1000);
  EXPECT_EQ(chunks, 2);  // 1 MiB minus framing holds 650 rows of 200 doubles
}

}  // namespace
}  // namespace sgdspectra::server_test
