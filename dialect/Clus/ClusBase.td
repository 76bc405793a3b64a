//===- ClusBase.td - clus dialect, enums and type constraints --*- tablegen -*-===//
//
// The `clus` dialect describes clustering, aggregation and clustered
// attention (SPEC §2). This file holds the dialect itself, its enum
// attributes and the type constraints shared by the ops.
//
//===----------------------------------------------------------------------===//

#ifndef CLUSOPT_DIALECT_CLUS_CLUSBASE_TD
#define CLUSOPT_DIALECT_CLUS_CLUSBASE_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

def Clus_Dialect : Dialect {
  let name = "clus";
  let cppNamespace = "::clusopt::clus";
  let summary = "Clustering, aggregation and clustered attention";
  let description = [{
    The `clus` dialect expresses the clustering-attention family of
    operators used by PaCa-ViT, ClusTR and CAST-style Vision Transformers:
    soft and hard clustering of tokens, aggregation of tokens into clusters
    and back, and attention of tokens against clusters or within clusters.

    All ops work on ranked tensors with static or dynamic dimensions.
    Floating-point operands are `f32`, `f16` or `bf16`, and every reduction
    and softmax accumulates in `f32` whatever the storage type. Index
    operands and results are `i32`. Ties are broken towards the lower index.

    Projections, norms, activations and matmuls are not part of this
    dialect: they are ordinary upstream ops (`linalg`, `arith`, `math`,
    `tensor`) that mix freely with `clus` ops in a function.
  }];
  let useDefaultAttributePrinterParser = 1;
  let dependentDialects = ["::mlir::tensor::TensorDialect"];
}

//===----------------------------------------------------------------------===//
// Enums
//===----------------------------------------------------------------------===//

def Clus_SoftAssignAxis : I32EnumAttr<"SoftAssignAxis",
    "axis over which soft_assign normalises", [
      I32EnumAttrCase<"tokens", 0>,
      I32EnumAttrCase<"clusters", 1>
    ]> {
  let cppNamespace = "::clusopt::clus";
  let genSpecializedAttr = 0;
}
def Clus_SoftAssignAxisAttr
    : EnumAttr<Clus_Dialect, Clus_SoftAssignAxis, "axis">;

def Clus_KMeansMetric : I32EnumAttr<"KMeansMetric",
    "distance used by kmeans", [
      I32EnumAttrCase<"l2", 0>,
      I32EnumAttrCase<"cosine", 1>
    ]> {
  let cppNamespace = "::clusopt::clus";
  let genSpecializedAttr = 0;
}
def Clus_KMeansMetricAttr
    : EnumAttr<Clus_Dialect, Clus_KMeansMetric, "metric">;

def Clus_Reduction : I32EnumAttr<"Reduction",
    "segment reduction used by aggregate", [
      I32EnumAttrCase<"sum", 0>,
      I32EnumAttrCase<"mean", 1>,
      I32EnumAttrCase<"weighted_mean", 2>
    ]> {
  let cppNamespace = "::clusopt::clus";
  let genSpecializedAttr = 0;
}
def Clus_ReductionAttr : EnumAttr<Clus_Dialect, Clus_Reduction, "reduction">;

//===----------------------------------------------------------------------===//
// Type constraints
//===----------------------------------------------------------------------===//

def Clus_Float : AnyTypeOf<[F32, F16, BF16], "f32, f16 or bf16">;

class Clus_FloatTensorOfRank<int rank>
    : TensorRankOf<[Clus_Float], [rank]>;
class Clus_IndexTensorOfRank<int rank> : TensorRankOf<[I32], [rank]>;

#endif // CLUSOPT_DIALECT_CLUS_CLUSBASE_TD
